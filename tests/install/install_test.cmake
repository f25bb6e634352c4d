# Script mode (cmake -P) driver of the install:consumer test; see
# CMakeLists.txt beside it. Inputs: KV_SOURCE_DIR, WORK_DIR, GENERATOR,
# CXX_COMPILER; optional CTEST_COMMAND (default: the ctest beside cmake).
#
# The builds here are Debug at -O0: this test checks packaging, not speed, and
# -O0 compiles kv in about half the CPU time of an optimized build.
cmake_minimum_required(VERSION 3.20)
foreach(var KV_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_test.cmake: -D${var}=... is required")
  endif()
endforeach()

set(build_dir "${WORK_DIR}/kv-build")
set(prefix "${WORK_DIR}/prefix")
set(consumer_dir "${WORK_DIR}/consumer-build")
set(db_dir "${WORK_DIR}/db")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

if(NOT DEFINED ENV{CMAKE_BUILD_PARALLEL_LEVEL})
  set(ENV{CMAKE_BUILD_PARALLEL_LEVEL} 2)
endif()

function(step what)
  message(STATUS "install test: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: FAILED (${rc}) at: ${what}\n  command: ${ARGN}")
  endif()
endfunction()

# 1. kv alone, installed into a temporary prefix.
step("configure kv" ${CMAKE_COMMAND} -S "${KV_SOURCE_DIR}" -B "${build_dir}" -G "${GENERATOR}"
     "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0
     "-DCMAKE_INSTALL_PREFIX=${prefix}" -DKV_BUILD_TESTS=OFF -DKV_BUILD_BENCH=OFF
     -DKV_BUILD_EXAMPLES=OFF -DKV_BUILD_TOOLS=ON)
step("build kv" ${CMAKE_COMMAND} --build "${build_dir}")
step("install kv" ${CMAKE_COMMAND} --install "${build_dir}")

# 2. The install tree holds what a consumer needs.
file(GLOB_RECURSE kv_config "${prefix}/*/kvConfig.cmake")
if(NOT kv_config)
  message(FATAL_ERROR "install test: no kvConfig.cmake under ${prefix}")
endif()
list(GET kv_config 0 kv_config)
get_filename_component(cmake_dir "${kv_config}" DIRECTORY)       # <libdir>/cmake/kv
get_filename_component(libdir "${cmake_dir}/../.." ABSOLUTE)
foreach(f "${cmake_dir}/kvConfig.cmake" "${cmake_dir}/kvConfigVersion.cmake"
          "${cmake_dir}/kvTargets.cmake" "${cmake_dir}/Findxxhash.cmake"
          "${libdir}/libkv.a" "${libdir}/pkgconfig/kv.pc"
          "${prefix}/include/kv/db.hpp" "${prefix}/include/kv/status_macros.hpp")
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "install test: missing from the install: ${f}")
  endif()
endforeach()
file(GLOB_RECURSE leaked RELATIVE "${prefix}" "${prefix}/*_impl.hpp" "${prefix}/*.cpp")
if(leaked)
  message(FATAL_ERROR "install test: implementation files installed: ${leaked}")
endif()

# kv.pc works on its own: a small program compiled and linked with nothing but
# `pkg-config --cflags --libs kv` (so every Requires module must exist).
find_program(PKG_CONFIG_EXECUTABLE pkg-config)
if(PKG_CONFIG_EXECUTABLE)
  set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
  execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --cflags --libs kv
                  RESULT_VARIABLE rc OUTPUT_VARIABLE pc_flags ERROR_VARIABLE pc_err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: pkg-config kv failed: ${pc_err}")
  endif()
  message(STATUS "install test: pkg-config --cflags --libs kv: ${pc_flags}")
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  file(WRITE "${WORK_DIR}/pc_consumer.cpp" [=[
#include <kv/db.hpp>
int main() { return kv::Options{}.Validate().ok() ? 0 : 1; }
]=])
  step("compile + link a program with pkg-config kv" ${CXX_COMPILER}
       "${WORK_DIR}/pc_consumer.cpp" -o "${WORK_DIR}/pc_consumer" ${pc_flags})
  step("run the pkg-config consumer" "${WORK_DIR}/pc_consumer")
endif()

# kvctl, when the source tree has tools/ (KV_BUILD_TOOLS is ON by default in
# a top-level build, so the configure above builds and installs it).
if(EXISTS "${KV_SOURCE_DIR}/tools/CMakeLists.txt")
  if(NOT EXISTS "${prefix}/bin/kvctl")
    message(FATAL_ERROR "install test: missing from the install: ${prefix}/bin/kvctl")
  endif()
  step("run kvctl --help from the install" "${prefix}/bin/kvctl" --help)
endif()

# 3. examples/ as a separate project, the way a user's project would use kv.
step("configure examples against the install" ${CMAKE_COMMAND} -S "${KV_SOURCE_DIR}/examples"
     -B "${consumer_dir}" -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
     -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 "-DCMAKE_PREFIX_PATH=${prefix}")
step("build examples" ${CMAKE_COMMAND} --build "${consumer_dir}")

# Every example was built...
file(GLOB example_sources "${KV_SOURCE_DIR}/examples/*.cpp")
set(examples "")
foreach(src ${example_sources})
  get_filename_component(name "${src}" NAME_WE)
  if(NOT EXISTS "${consumer_dir}/${name}")
    message(FATAL_ERROR "install test: example ${name} was not built")
  endif()
  list(APPEND examples ${name})
endforeach()
list(LENGTH examples num_examples)
if(num_examples EQUAL 0)
  message(FATAL_ERROR "install test: no examples found under ${KV_SOURCE_DIR}/examples")
endif()

# ...and every one runs: ctest runs each with no arguments (a temporary DB),
# as the example:<name> tests do in kv's own build.
if(NOT CTEST_COMMAND)
  get_filename_component(cmake_bin_dir "${CMAKE_COMMAND}" DIRECTORY)
  find_program(CTEST_COMMAND ctest HINTS "${cmake_bin_dir}" REQUIRED)
endif()
step("run all ${num_examples} examples (ctest)" "${CTEST_COMMAND}" --test-dir "${consumer_dir}"
     --output-on-failure --no-tests=error --timeout 300)

# Each also runs on a DB directory of its own, twice: the DB it left behind
# reopens.
foreach(name ${examples})
  step("run ${name} on ${db_dir}/${name}" "${consumer_dir}/${name}" "${db_dir}/${name}")
  step("run ${name} again on the same DB" "${consumer_dir}/${name}" "${db_dir}/${name}")
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
message(STATUS "install test: OK")
