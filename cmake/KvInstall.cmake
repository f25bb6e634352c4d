# Install rules: headers, the library, and a relocatable CMake package
# (kvConfig.cmake, kvConfigVersion.cmake, kvTargets.cmake) plus kv.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS kv EXPORT kvTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/kv DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT kvTargets NAMESPACE kv:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kv)
install(FILES cmake/Findxxhash.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kv)

configure_package_config_file(cmake/kvConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/kvConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kv)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/kvConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kvConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/kvConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kv)

configure_file(cmake/kv.pc.in ${CMAKE_CURRENT_BINARY_DIR}/kv.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kv.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
