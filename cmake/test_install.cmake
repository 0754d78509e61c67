# ctest install.ExamplesBuildAgainstInstalledPackage: cmake --install this build into BUILD_DIR/install-test/prefix,
# configure and build docs/examples against it with find_package(Lethe) as a consumer would (nothing from the
# source tree), then run the example on a run the installed `lethe` trains.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DCXX=... -DBUILD_TYPE=... -P cmake/test_install.cmake
foreach(v BUILD_DIR SOURCE_DIR CXX BUILD_TYPE)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "test_install.cmake: -D${v}=... is required")
  endif()
endforeach()
set(root ${BUILD_DIR}/install-test)
set(prefix ${root}/prefix)
file(REMOVE_RECURSE ${root})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/lethe/models/inference.h include/lethe/engine/tensor.h lib/cmake/Lethe/LetheConfig.cmake bin/lethe)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the install lacks ${f}")
  endif()
endforeach()
file(GLOB_RECURSE internal ${prefix}/include/lethe/engine/cpu/* ${prefix}/include/lethe/engine/cuda/*)
if(internal)
  message(FATAL_ERROR "backend-internal headers were installed: ${internal}")
endif()

run("configuring docs/examples" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/docs/examples -B ${root}/examples
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(STRINGS ${root}/examples/CMakeCache.txt lethe_dir REGEX "^Lethe_DIR:")
if(NOT lethe_dir MATCHES "${prefix}/")
  message(FATAL_ERROR "find_package(Lethe) did not use the test install: ${lethe_dir}")
endif()
run("building docs/examples" ${CMAKE_COMMAND} --build ${root}/examples)

run("lethe gen" ${prefix}/bin/lethe gen --preset tiny --seed 3 --out ${root}/data)
run("lethe train" ${prefix}/bin/lethe train --data ${root}/data --model bpr --set epochs=1 --out ${root}/run)
run("recommend_example" ${root}/examples/recommend_example ${root}/run 0 5)
string(REGEX MATCHALL "item [0-9]+\tscore" items "${run_output}")
list(LENGTH items n)
if(NOT n EQUAL 5)
  message(FATAL_ERROR "recommend_example printed ${n} recommendations, expected 5:\n${run_output}")
endif()
message(STATUS "installed package works: ${run_output}")
