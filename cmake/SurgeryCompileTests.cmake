# Compile-fail tests: a file that must NOT compile, checked against a regex of the expected message,
# each beside a twin that must compile ({fmt} compile-error-test, stdexec test_*_fail*.cpp).
#
#   surgery_add_compile_fail_test(<name> <file.cpp> REGEX <regex> [LINK <targets>...])
#   surgery_add_compile_pass_test(<name> <file.cpp> [LINK <targets>...])
#
# Each registers a CTest test (label `compile`) that runs the C++ compiler with -fsyntax-only on the
# file, with the include directories, definitions and options of a target linking LINK (default
# surgery::surgery) plus surgery_project_flags. A fail test passes only when the compile fails AND
# its output matches REGEX (a CMake regular expression, no `;`); a pass test only when it compiles.
# The compiler runs at test time, so a failing case never breaks the build.
#
# This file is also the test driver, run as `cmake -P SurgeryCompileTests.cmake` by those tests.

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  # ---- driver: -DMODE=fail|pass -DCOMPILER= -DSOURCE= -DFLAGS_FILE= -DREGEX_FILE= -DINCLUDE_ROOT= ----
  cmake_minimum_required(VERSION 3.23)
  include("${FLAGS_FILE}") # SURGERY_CT_{INCLUDES,IMPLICIT_INCLUDES,DEFINES,OPTIONS,FLAGS}
  set(args ${SURGERY_CT_FLAGS})
  foreach(dir IN LISTS SURGERY_CT_INCLUDES)
    if(dir IN_LIST SURGERY_CT_IMPLICIT_INCLUDES)
      continue() # like CMake: never -isystem /usr/include, it breaks #include_next in libstdc++
    endif()
    # The project's own headers with -I (their warnings count), third-party ones as system headers.
    cmake_path(IS_PREFIX INCLUDE_ROOT "${dir}" NORMALIZE ours)
    if(ours)
      list(APPEND args "-I${dir}")
    else()
      list(APPEND args -isystem "${dir}")
    endif()
  endforeach()
  list(TRANSFORM SURGERY_CT_DEFINES PREPEND "-D")
  list(APPEND args ${SURGERY_CT_DEFINES} ${SURGERY_CT_OPTIONS} -fsyntax-only -fdiagnostics-color=never "${SOURCE}")

  set(ENV{LC_ALL} C) # plain quotes in diagnostics, whatever the user's locale
  execute_process(COMMAND "${COMPILER}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REPLACE ";" " " shown "${COMPILER} ${args}")

  if(MODE STREQUAL "pass")
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${SOURCE} must compile but did not:\n${shown}\n${out}")
    endif()
    message(STATUS "${SOURCE} compiles, as it must")
  elseif(MODE STREQUAL "fail")
    file(READ "${REGEX_FILE}" regex)
    if(rc EQUAL 0)
      message(FATAL_ERROR "${SOURCE} compiled but must not (expected an error matching: ${regex})\n${shown}\n${out}")
    endif()
    if(NOT out MATCHES "${regex}")
      message(FATAL_ERROR "${SOURCE} failed to compile, but not with the expected message.\n"
        "expected (regex): ${regex}\ncommand: ${shown}\ncompiler output:\n${out}")
    endif()
    message(STATUS "${SOURCE} fails to compile with the expected message: ${CMAKE_MATCH_0}")
  else()
    message(FATAL_ERROR "SurgeryCompileTests.cmake: MODE must be fail or pass")
  endif()
  return()
endif()

set(_SURGERY_COMPILE_TESTS_DRIVER "${CMAKE_CURRENT_LIST_FILE}")

function(_surgery_add_compile_test mode name file)
  cmake_parse_arguments(PARSE_ARGV 3 arg "" "REGEX" "LINK")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "surgery_add_compile_${mode}_test(${name}): unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(mode STREQUAL "fail" AND arg_REGEX STREQUAL "")
    message(FATAL_ERROR "surgery_add_compile_fail_test(${name}): REGEX <expected message> is required")
  endif()
  if(NOT arg_LINK)
    set(arg_LINK surgery::surgery)
  endif()
  cmake_path(ABSOLUTE_PATH file BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}")
  string(MAKE_C_IDENTIFIER "${name}" id)
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/compile_tests/${id}")

  # A never-built target that carries the flags: its include directories, definitions and options,
  # transitive over LINK, are written to a file the driver reads. Building it by hand shows the error.
  set(flags_target surgery_compile_${mode}_${id})
  add_library(${flags_target} OBJECT EXCLUDE_FROM_ALL "${file}")
  target_link_libraries(${flags_target} PRIVATE ${arg_LINK} surgery_project_flags)
  set(t "${flags_target}")
  string(TOUPPER "${CMAKE_BUILD_TYPE}" config)
  set(flags "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${config}}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  list(PREPEND flags "${CMAKE_CXX20_STANDARD_COMPILE_OPTION}")
  file(GENERATE OUTPUT "${dir}/flags-$<CONFIG>.cmake" CONTENT
"set(SURGERY_CT_INCLUDES [==[$<TARGET_PROPERTY:${t},INCLUDE_DIRECTORIES>]==])
set(SURGERY_CT_DEFINES [==[$<TARGET_PROPERTY:${t},COMPILE_DEFINITIONS>]==])
set(SURGERY_CT_OPTIONS [==[$<TARGET_PROPERTY:${t},COMPILE_OPTIONS>]==])
set(SURGERY_CT_FLAGS [==[${flags}]==])
set(SURGERY_CT_IMPLICIT_INCLUDES [==[${CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES}]==])
")
  set(regex_file "${dir}/expected-regex.txt")
  file(WRITE "${regex_file}" "${arg_REGEX}")

  add_test(NAME ${name}
    COMMAND "${CMAKE_COMMAND}" -DMODE=${mode} "-DCOMPILER=${CMAKE_CXX_COMPILER}" "-DSOURCE=${file}"
      "-DFLAGS_FILE=${dir}/flags-$<CONFIG>.cmake" "-DREGEX_FILE=${regex_file}"
      "-DINCLUDE_ROOT=${PROJECT_SOURCE_DIR}" -P "${_SURGERY_COMPILE_TESTS_DRIVER}")
  set_tests_properties(${name} PROPERTIES LABELS compile TIMEOUT 300)
endfunction()

function(surgery_add_compile_fail_test name file)
  _surgery_add_compile_test(fail ${name} "${file}" ${ARGN})
endfunction()

function(surgery_add_compile_pass_test name file)
  _surgery_add_compile_test(pass ${name} "${file}" ${ARGN})
endfunction()
