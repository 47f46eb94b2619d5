# DIND_SANITIZE (see CMakeLists.txt): compile and link flags for sanitizer builds, applied to every target defined
# after this file is included (the core, the tests, the extension). Owned by the sanitizer work; the presets in
# CMakePresets.json (asan, tsan) set it, scripts/sanitize.sh runs them.
if(DIND_SANITIZE)
  if(DIND_SANITIZE MATCHES "thread" AND DIND_SANITIZE MATCHES "address")
    message(FATAL_ERROR "DIND_SANITIZE=${DIND_SANITIZE}: ThreadSanitizer cannot be combined with AddressSanitizer")
  endif()
  add_compile_options(-fsanitize=${DIND_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${DIND_SANITIZE})
  if(DIND_SANITIZE MATCHES "undefined")
    # Undefined behaviour aborts the test that hit it instead of printing a line and going on.
    add_compile_options(-fno-sanitize-recover=undefined)
    add_link_options(-fno-sanitize-recover=undefined)
  endif()
endif()
