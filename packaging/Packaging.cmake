# Installation layout and CPack packages (docs/packaging.md):
#   Linux    .deb  "parley" (desktop client + server), or "parley-server" when built
#                  with PARLEY_GUI=OFF (headless: server and swarm only)
#   Windows  NSIS installer, Qt libraries deployed next to parley.exe (windeployqt)
#   macOS    DragNDrop disk image of Parley.app (macdeployqt)
# `cmake --build build --target package` (or `cpack` in the build dir) builds them.
include(GNUInstallDirs)

set(PARLEY_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
if(PARLEY_GUI)
    set(PARLEY_PACKAGE_NAME parley)
else()
    set(PARLEY_PACKAGE_NAME parley-server)
endif()
set(PARLEY_APP_ID invalid.parley.Parley)

if(UNIX AND NOT APPLE)
    if(PARLEY_GUI)
        install(FILES ${PARLEY_PACKAGING_DIR}/linux/${PARLEY_APP_ID}.desktop
            DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
        install(FILES ${PARLEY_PACKAGING_DIR}/linux/${PARLEY_APP_ID}.metainfo.xml
            DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
        install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/parley.svg
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
        foreach(size 16 24 32 48 64 128 256 512)
            install(FILES
                ${PROJECT_SOURCE_DIR}/resources/icons/hicolor/${size}x${size}/apps/parley.png
                DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps)
        endforeach()
    endif()
    # The server as a service: unit, system user, default settings (a conffile). With
    # the /usr prefix of the packages these land in /usr/lib/systemd/system and
    # /usr/lib/sysusers.d, where systemd looks on merged-/usr systems.
    install(FILES ${PARLEY_PACKAGING_DIR}/linux/parley-server.service
        DESTINATION lib/systemd/system)
    install(FILES ${PARLEY_PACKAGING_DIR}/linux/parley.sysusers
        DESTINATION lib/sysusers.d RENAME parley.conf)
    install(FILES ${PARLEY_PACKAGING_DIR}/server.conf DESTINATION /etc/parley)
    install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/self-hosting.md
        ${PROJECT_SOURCE_DIR}/docs/protocol.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${PARLEY_PACKAGE_NAME})
elseif(WIN32 OR APPLE)
    # Qt's own deployment (windeployqt / macdeployqt) copies the Qt libraries and
    # plugins the executable needs into the install tree.
    qt_generate_deploy_app_script(TARGET parley FILENAME_VARIABLE parley_deploy_script
        NO_UNSUPPORTED_PLATFORM_ERROR)
    install(SCRIPT ${parley_deploy_script})
endif()
if(WIN32)
    # windeployqt copies only Qt: libsodium, simdjson, OpenSSL's libcrypto and qtkeychain
    # come from the DLLs parley.exe imports (the set app/CMakeLists.txt names), found on
    # PATH (the workflow puts vcpkg's bin there).
    install(RUNTIME_DEPENDENCY_SET parley_runtime_dlls
        PRE_EXCLUDE_REGEXES "api-ms-.*" "ext-ms-.*"
        POST_EXCLUDE_REGEXES ".*[Ss]ystem32/.*" ".*Qt6.*"
        DIRECTORIES $ENV{PATH}
        RUNTIME DESTINATION bin)
endif()

set(CPACK_PACKAGE_VENDOR "The Parley developers")
set(CPACK_PACKAGE_CONTACT "The Parley developers <parley@parley.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "${PROJECT_HOMEPAGE_URL}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "Parley")
# The Start-menu shortcut (NSIS): bin/parley.exe, named "Parley".
set(CPACK_PACKAGE_EXECUTABLES parley Parley)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_NAME ${PARLEY_PACKAGE_NAME})

if(WIN32)
    set(CPACK_GENERATOR NSIS)
    set(CPACK_NSIS_DISPLAY_NAME "Parley")
    set(CPACK_NSIS_PACKAGE_NAME "Parley")
    set(CPACK_NSIS_URL_INFO_ABOUT "${PROJECT_HOMEPAGE_URL}")
    set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
    set(CPACK_NSIS_INSTALLED_ICON_NAME "bin\\\\parley.exe")
elseif(APPLE)
    set(CPACK_GENERATOR DragNDrop)
    set(CPACK_DMG_VOLUME_NAME "Parley")
    set(CPACK_DMG_FORMAT UDZO)
else()
    set(CPACK_GENERATOR DEB)
    set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
    set(CPACK_DEBIAN_PACKAGE_SECTION net)
    # Dependencies computed by dpkg-shlibdeps from the libraries parley links: the Qt 6
    # runtime packages (libqt6core6, libqt6widgets6, libqt6websockets6, ...), qtkeychain,
    # libsodium and simdjson, with the versions this build needs.
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
    # Loaded at run time, so invisible to dpkg-shlibdeps: the SQLite driver plugin, and
    # the TLS backend plugin for wss://.
    # adduser: the postinst creates the parley user with it where there is no
    # systemd-sysusers (containers).
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6sql6-sqlite, libqt6network6, adduser | systemd")
    set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
    set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
        ${PARLEY_PACKAGING_DIR}/linux/postinst ${PARLEY_PACKAGING_DIR}/linux/conffiles)
    set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
endif()

include(CPack)
