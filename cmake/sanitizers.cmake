# DIND_SANITIZE (see CMakeLists.txt): compile and link flags for sanitizer builds. Owned by the sanitizer work.
if(DIND_SANITIZE)
  add_compile_options(-fsanitize=${DIND_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${DIND_SANITIZE})
endif()
