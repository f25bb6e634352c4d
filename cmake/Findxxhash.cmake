# Findxxhash: Debian's libxxhash-dev ships only a pkg-config file, so this
# module turns it into the imported target xxhash::xxhash.
#
#   xxhash_FOUND, xxhash_INCLUDE_DIR, xxhash_LIBRARY, target xxhash::xxhash
#
# If the library exports XXH3's x86 run-time dispatcher (Debian's x86-64
# build does), the target carries KV_XXH3_X86_DISPATCH=1 and kv's checksums
# of large blocks use it (AVX2/AVX-512 when the CPU has them).
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_XXHASH QUIET libxxhash)
endif()
find_path(xxhash_INCLUDE_DIR NAMES xxhash.h HINTS ${PC_XXHASH_INCLUDE_DIRS})
find_library(xxhash_LIBRARY NAMES xxhash HINTS ${PC_XXHASH_LIBRARY_DIRS})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(xxhash REQUIRED_VARS xxhash_LIBRARY xxhash_INCLUDE_DIR)

if(xxhash_FOUND AND NOT TARGET xxhash::xxhash)
  add_library(xxhash::xxhash UNKNOWN IMPORTED)
  set_target_properties(xxhash::xxhash PROPERTIES
    IMPORTED_LOCATION "${xxhash_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${xxhash_INCLUDE_DIR}")
  include(CheckSymbolExists)
  include(CMakePushCheckState)
  cmake_push_check_state(RESET)
  set(CMAKE_REQUIRED_INCLUDES "${xxhash_INCLUDE_DIR}")
  set(CMAKE_REQUIRED_LIBRARIES "${xxhash_LIBRARY}")
  set(CMAKE_REQUIRED_QUIET ON)
  check_symbol_exists(XXH3_64bits_withSeed_dispatch "xxh_x86dispatch.h" KV_XXHASH_HAS_X86_DISPATCH)
  cmake_pop_check_state()
  if(KV_XXHASH_HAS_X86_DISPATCH)
    set_property(TARGET xxhash::xxhash APPEND PROPERTY
      INTERFACE_COMPILE_DEFINITIONS KV_XXH3_X86_DISPATCH=1)
  endif()
endif()
mark_as_advanced(xxhash_INCLUDE_DIR xxhash_LIBRARY)
