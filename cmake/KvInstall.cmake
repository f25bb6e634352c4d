# Install rules: headers, the library, and a relocatable CMake package
# (kvConfig.cmake, kvConfigVersion.cmake, kvTargets.cmake) plus kv.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS kv EXPORT kvTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
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

# kv.pc finds its prefix relative to its own location (${pcfiledir}), so the
# install tree stays relocatable (cmake --install --prefix elsewhere).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(KV_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(KV_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH KV_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" KV_PC_UP "${KV_PC_UP}")
  set(KV_PC_PREFIX "\${pcfiledir}/${KV_PC_UP}")
  set(KV_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(KV_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(KV_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(cmake/kv.pc.in ${CMAKE_CURRENT_BINARY_DIR}/kv.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kv.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
