# SurgeryOrt.cmake: ONNX Runtime (the npm package onnxruntime-node, CPU) as the tests' independent
# oracle and speed baseline, run through tests/tools/ort_run.mjs. Install it with `scripts/deps.sh ort`.
#
#   include("${PROJECT_SOURCE_DIR}/cmake/SurgeryOrt.cmake")
#
# Cache variables:
#   SURGERY_ORT_DIR          where onnxruntime-node is installed: an npm prefix (DIR/node_modules/
#                            onnxruntime-node) or the package folder; default <repository>/.deps/ort,
#                            the folder `scripts/deps.sh ort` installs into
#   SURGERY_NODE_EXECUTABLE  node (found on PATH as node or nodejs)
#   SURGERY_REQUIRE_ORT      OFF: without node or the package the ORT tests are just not registered;
#                            ON: that is a configure error (for CI, so that the oracle never goes missing
#                            silently)
# Sets:
#   SURGERY_HAVE_ORT         ON when node runs and onnxruntime-node loads (its native binding included)
#   SURGERY_ORT_RUN          the command prefix, a CMake list: node <repo>/tests/tools/ort_run.mjs
#                            --ort-dir <dir>; append MODEL.onnx --input ... (see ort_run.mjs --help)
#   SURGERY_ORT_VERSION      the installed package's version, e.g. 1.30.0
include_guard(GLOBAL)

get_filename_component(_surgery_ort_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(SURGERY_ORT_DIR "${_surgery_ort_root}/.deps/ort" CACHE PATH
  "Where onnxruntime-node is installed (npm prefix or package folder); scripts/deps.sh ort installs into <repo>/.deps/ort")
option(SURGERY_REQUIRE_ORT "Make a missing ONNX Runtime oracle (node + onnxruntime-node) a configure error" OFF)
find_program(SURGERY_NODE_EXECUTABLE NAMES node nodejs DOC "Node.js, to run ONNX Runtime (onnxruntime-node)")

set(SURGERY_HAVE_ORT OFF)
set(SURGERY_ORT_RUN "")
set(SURGERY_ORT_VERSION "")
set(_surgery_ort_script "${_surgery_ort_root}/tests/tools/ort_run.mjs")
set(_surgery_ort_why "")

if(NOT SURGERY_NODE_EXECUTABLE)
  set(_surgery_ort_why "node not found (scripts/deps.sh ort installs it)")
elseif(NOT EXISTS "${_surgery_ort_script}")
  set(_surgery_ort_why "${_surgery_ort_script} is missing")
else()
  # The script's own --version: the same package resolution as the tests, and the binding is loaded.
  execute_process(
    COMMAND "${SURGERY_NODE_EXECUTABLE}" "${_surgery_ort_script}" --version --ort-dir "${SURGERY_ORT_DIR}"
    RESULT_VARIABLE _surgery_ort_rc OUTPUT_VARIABLE _surgery_ort_out ERROR_VARIABLE _surgery_ort_err
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_STRIP_TRAILING_WHITESPACE TIMEOUT 120)
  if(_surgery_ort_rc EQUAL 0 AND _surgery_ort_out MATCHES "^onnxruntime-node ([^ ]+) (.+)$")
    set(SURGERY_ORT_VERSION "${CMAKE_MATCH_1}")
    set(_surgery_ort_pkg "${CMAKE_MATCH_2}")
    set(SURGERY_HAVE_ORT ON)
    set(SURGERY_ORT_RUN "${SURGERY_NODE_EXECUTABLE}" "${_surgery_ort_script}" --ort-dir "${_surgery_ort_pkg}")
  elseif(_surgery_ort_rc EQUAL 77)
    set(_surgery_ort_why "onnxruntime-node is not installed in ${SURGERY_ORT_DIR} (run scripts/deps.sh ort)")
  else()
    set(_surgery_ort_why "onnxruntime-node in ${SURGERY_ORT_DIR} does not load (exit ${_surgery_ort_rc}): ${_surgery_ort_err}")
  endif()
endif()

if(SURGERY_HAVE_ORT)
  execute_process(COMMAND "${SURGERY_NODE_EXECUTABLE}" --version OUTPUT_VARIABLE _surgery_node_version
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  message(STATUS "ONNX Runtime oracle: onnxruntime-node ${SURGERY_ORT_VERSION} in ${_surgery_ort_pkg} (node ${_surgery_node_version})")
elseif(SURGERY_REQUIRE_ORT)
  message(FATAL_ERROR "SURGERY_REQUIRE_ORT: ${_surgery_ort_why}")
else()
  message(STATUS "ONNX Runtime oracle: not available, its tests are not registered: ${_surgery_ort_why}")
endif()
