# Packaging.cmake - `cpack -G DEB` (run in the build directory): one Debian package, mcapkit,
# holding everything `cmake --install` installs, under /usr. Its dependencies: what
# dpkg-shlibdeps finds in the ELF files (libzstd1, liblz4-1, libjson-c5, libxxhash0, ...),
# plus the libraries the pipeline opens only when needed (dlopen), which no tool can see:
# libcurl.so.4 (network commands), libmicrohttpd.so.12 and libcrypto.so.3 (serve),
# libsqlite3.so.0, libyaml-0.so.2 and libbz2.so.1.0 (bag conversion), libsystemd.so.0 (the
# agent's service notification).
set(CPACK_PACKAGE_NAME mcapkit)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "MCAP robot recordings: check, repair, rewrite, index and upload (CLI and C libraries)")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "mcapkit checks, repairs, slims and splits MCAP recordings, indexes them as the Foxglove "
  "data platform does on import, uploads them and verifies what the platform holds. The "
  "package holds the mcapkit command, libmcap (shared and static), the pipeline libraries "
  "(static), their headers, pkg-config and CMake package files, manual pages and bash "
  "completion.")
set(CPACK_PACKAGE_CONTACT "mcapkit maintainers <mcapkit@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libcurl4 (>= 7.62.0), libmicrohttpd12, libssl3, libsqlite3-0, libyaml-0-2, libbz2-1.0, libsystemd0")
# A shlibs file for libmcap.so.MAJOR, and the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
include(CPack)
