# Installs libdind into a scratch prefix, then builds and runs examples/cpp-consumer against it with
# find_package(dind CONFIG REQUIRED): what a separate project does.
set(prefix "${BUILD_DIR}/consumer-test/prefix")
set(cbuild "${BUILD_DIR}/consumer-test/build")
file(REMOVE_RECURSE "${BUILD_DIR}/consumer-test")
foreach(step
    "${CMAKE_COMMAND};--install;${BUILD_DIR};--prefix;${prefix}"
    "${CMAKE_COMMAND};-S;${SOURCE_DIR}/examples/cpp-consumer;-B;${cbuild};-G;Ninja;-DCMAKE_BUILD_TYPE=Release;-DCMAKE_PREFIX_PATH=${prefix}"
    "${CMAKE_COMMAND};--build;${cbuild}"
    "${cbuild}/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: '${step}' failed (${rc})")
  endif()
endforeach()
