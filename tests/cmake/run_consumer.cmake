# Builds and runs tests/cmake/consumer against model-surgery; run by CTest as `cmake -P`.
#   MODE=install : cmake --install BINARY_DIR into WORK_DIR/prefix, then find_package(surgery) from there
#   MODE=subdir  : add_subdirectory(SOURCE_DIR) from the consumer
# Also: SOURCE_DIR, BINARY_DIR, WORK_DIR, GENERATOR, CXX_COMPILER, BUILD_TYPE, WITH_ONNX (ON/OFF).
cmake_minimum_required(VERSION 3.23)

foreach(var IN ITEMS MODE SOURCE_DIR BINARY_DIR WORK_DIR GENERATOR CXX_COMPILER WITH_ONNX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "+ ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test (${MODE}): command failed (${rc}): ${shown}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(config_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCONSUMER_WITH_ONNX=${WITH_ONNX})
if(BUILD_TYPE)
  list(APPEND config_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()

if(MODE STREQUAL "install")
  set(prefix "${WORK_DIR}/prefix")
  set(install_args --install "${BINARY_DIR}" --prefix "${prefix}")
  if(BUILD_TYPE)
    list(APPEND install_args --config "${BUILD_TYPE}")
  endif()
  run("${CMAKE_COMMAND}" ${install_args})
  if(NOT EXISTS "${prefix}/include/surgery/ir.hpp")
    message(FATAL_ERROR "consumer test (install): headers were not installed under ${prefix}/include")
  endif()
  # Only the prefix: the consumer must not see the source or build tree.
  list(APPEND config_args "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "subdir")
  list(APPEND config_args "-DSURGERY_SOURCE_DIR=${SOURCE_DIR}")
else()
  message(FATAL_ERROR "run_consumer.cmake: MODE must be install or subdir, not '${MODE}'")
endif()

run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/cmake/consumer" -B "${WORK_DIR}/build" ${config_args})
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
if(WITH_ONNX)
  run("${WORK_DIR}/build/consumer_onnx")
endif()
