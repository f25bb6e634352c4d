# Warnings and sanitizers for kv's own targets only: PRIVATE, never forced
# on a project that consumes kv.
function(kv_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT CMAKE_CXX_COMPILER_VERSION VERSION_LESS 12)
    # GCC 12's flow-sensitive warnings misfire inside libstdc++'s std::string
    # at -O3 (GCC bugs 105329, 105651: "memcpy ... may overlap up to
    # 9223372036854775813 bytes", "may be used uninitialized" in a string
    # copy). Still shown, but not fatal, so Release builds do not break.
    target_compile_options(${target} PRIVATE -Wno-error=restrict -Wno-error=maybe-uninitialized)
  endif()
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # Checks the ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations.
    target_compile_options(${target} PRIVATE -Wthread-safety -Werror=thread-safety)
  endif()
  if(KV_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${KV_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${KV_SANITIZE})
  endif()
endfunction()
