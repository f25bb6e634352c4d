# Findxxhash: Debian's libxxhash-dev ships only a pkg-config file, so this
# module turns it into the imported target xxhash::xxhash.
#
#   xxhash_FOUND, xxhash_INCLUDE_DIR, xxhash_LIBRARY, target xxhash::xxhash
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
endif()
mark_as_advanced(xxhash_INCLUDE_DIR xxhash_LIBRARY)
