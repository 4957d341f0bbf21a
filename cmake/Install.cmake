# Install.cmake - what `cmake --install BUILD --prefix P` puts where (included by the top-level
# CMakeLists.txt once every library exists):
#   bin/mcapkit
#   LIBDIR/libmcap.a, libmcap.so.MAJOR.MINOR.PATCH (+ .so.MAJOR, .so); the pipeline libraries
#   include/mcap/, include/pipeline/
#   LIBDIR/pkgconfig/mcap.pc, mcapkit-pipeline.pc
#   LIBDIR/cmake/mcapkit/ (find_package(mcapkit): mcapkit::mcap, mcapkit::pipeline, ...)
#   share/man/man1/mcapkit.1, mcapkit-COMMAND.1; share/bash-completion/completions/mcapkit
#   lib/systemd/system/mcapkit-agent.service; share/doc/mcapkit/examples/mcapkit-agent.env
#
# The pipeline libraries are every target in the global property MCAPKIT_PIPELINE_TARGETS:
# each pipeline library appends its name there (set_property(GLOBAL APPEND PROPERTY ...)),
# and what they link (pkg-config modules, CMake packages, plain -l names) is read from their
# link properties here, so a new library needs no edit in this file.
include(CMakePackageConfigHelpers)

get_property(MCAPKIT_PIPELINE_TARGETS GLOBAL PROPERTY MCAPKIT_PIPELINE_TARGETS)
list(REMOVE_DUPLICATES MCAPKIT_PIPELINE_TARGETS)
# Today's single pipeline library would install as libpipeline.a, the name of an unrelated
# Debian library (libpipeline-dev): give the archive a name of ours.
if(TARGET pipeline)
  get_target_property(_type pipeline TYPE)
  if(_type STREQUAL "STATIC_LIBRARY")
    set_target_properties(pipeline PROPERTIES OUTPUT_NAME mcapkit_pipeline)
  endif()
endif()
set(_mcapkit_libs mcap mcap_shared ${MCAPKIT_PIPELINE_TARGETS})

# CMake packages that the libraries may link, as: target, package for find_dependency,
# pkg-config module or -l flag for the .pc files.
set(_mcapkit_known_Threads::Threads "Threads;;-pthread")
set(_mcapkit_known_BZip2::BZip2 "BZip2;;-lbz2")
set(_mcapkit_known_OpenSSL::Crypto "OpenSSL;libcrypto;")
set(_mcapkit_known_OpenSSL::SSL "OpenSSL;libssl;")
set(_mcapkit_known_ZLIB::ZLIB "ZLIB;zlib;")
set(_mcapkit_known_CURL::libcurl "CURL;libcurl;")

# The link items of target `t` (direct, private ones included), generator expressions
# $<LINK_ONLY:x> unwrapped, $<BUILD_INTERFACE:x> left out.
function(_mcapkit_link_items t out)
  set(items "")
  foreach(prop LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(v ${t} ${prop})
    if(v)
      list(APPEND items ${v})
    endif()
  endforeach()
  set(result "")
  foreach(i IN LISTS items)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" i "${i}")
    # build-only items ($<BUILD_INTERFACE:...>) are not installed
    if(i MATCHES "^\\$<BUILD_INTERFACE:")
      continue()
    endif()
    list(APPEND result "${i}")
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# What targets `ARGN` link outside this project. Sets <prefix>_MODULES (pkg-config modules),
# <prefix>_LIBS (linker flags), <prefix>_PKGCONFIG (PkgConfig::X prefixes, for
# pkg_check_modules) and <prefix>_PACKAGES (for find_dependency).
function(_mcapkit_external_deps prefix)
  set(modules "")
  set(libs "")
  set(pkgconfig "")
  set(packages "")
  foreach(t IN LISTS ARGN)
    _mcapkit_link_items(${t} items)
    foreach(i IN LISTS items)
      if(i IN_LIST _mcapkit_libs)
        continue() # ours
      elseif(i MATCHES "^PkgConfig::(.+)$")
        set(p ${CMAKE_MATCH_1})
        set(m "${${p}_MODULE_NAME}")
        if(NOT m) # several modules under one prefix: the arguments pkg_check_modules got
          set(m "${__pkg_config_arguments_${p}}")
          list(REMOVE_ITEM m REQUIRED QUIET IMPORTED_TARGET GLOBAL NO_CMAKE_PATH
               NO_CMAKE_ENVIRONMENT_PATH)
        endif()
        list(APPEND modules ${m})
        list(APPEND pkgconfig "${p}")
        set(_mcapkit_pkg_${p} "${m}" PARENT_SCOPE)
      elseif(DEFINED "_mcapkit_known_${i}")
        list(GET _mcapkit_known_${i} 0 pkg)
        list(GET _mcapkit_known_${i} 1 m)
        list(GET _mcapkit_known_${i} 2 flag)
        list(APPEND packages ${pkg})
        list(APPEND modules ${m})
        list(APPEND libs ${flag})
      elseif(i MATCHES "^([A-Za-z0-9_]+)::")
        message(WARNING "${t} links ${i}: add it to the table in cmake/Install.cmake so that "
                        "the installed pkg-config and CMake package files find it")
        list(APPEND packages ${CMAKE_MATCH_1})
      elseif(TARGET ${i})
        message(WARNING "${t} links the target ${i}, which is not installed")
      elseif(i MATCHES "^-")
        list(APPEND libs "${i}")
      elseif(i MATCHES "^[A-Za-z0-9_.+-]+$")
        list(APPEND libs "-l${i}")
      else()
        list(APPEND libs "${i}")
      endif()
    endforeach()
  endforeach()
  foreach(v modules libs pkgconfig packages)
    list(REMOVE_DUPLICATES ${v})
    set(${prefix}_${v} "${${v}}" PARENT_SCOPE)
  endforeach()
endfunction()

# The pipeline archives in link order: a library before the ones it uses.
function(_mcapkit_pipeline_link_order out)
  set(remaining "")
  foreach(t IN LISTS MCAPKIT_PIPELINE_TARGETS)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "STATIC_LIBRARY")
      list(APPEND remaining ${t})
    endif()
  endforeach()
  foreach(t IN LISTS remaining)
    _mcapkit_link_items(${t} deps_${t})
  endforeach()
  set(order "")
  while(remaining)
    set(picked "")
    foreach(t IN LISTS remaining)
      set(used_by_other FALSE)
      foreach(u IN LISTS remaining)
        if(NOT u STREQUAL t AND t IN_LIST deps_${u})
          set(used_by_other TRUE)
        endif()
      endforeach()
      if(NOT used_by_other)
        set(picked ${t})
        break()
      endif()
    endforeach()
    if(NOT picked)
      message(WARNING "the pipeline libraries use each other in a cycle: ${remaining}")
      list(GET remaining 0 picked)
    endif()
    list(APPEND order ${picked})
    list(REMOVE_ITEM remaining ${picked})
  endwhile()
  set(flags "")
  foreach(t IN LISTS order)
    get_target_property(name ${t} OUTPUT_NAME)
    if(NOT name)
      set(name ${t})
    endif()
    list(APPEND flags "-l${name}")
  endforeach()
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

# ---- targets, headers, generated documents
install(TARGETS mcapkit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${_mcapkit_libs} EXPORT mcapkitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/mcap/include/mcap
                  ${PROJECT_SOURCE_DIR}/pipeline/include/pipeline
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

# Manual pages and completion, written by the built mcapkit itself (cmake/GenerateDocs.cmake).
set(_docs ${PROJECT_BINARY_DIR}/docs)
add_custom_command(
  OUTPUT ${_docs}/stamp
  COMMAND ${CMAKE_COMMAND} -DMCAPKIT=$<TARGET_FILE:mcapkit> -DOUT=${_docs}
          -P ${PROJECT_SOURCE_DIR}/cmake/GenerateDocs.cmake
  COMMAND ${CMAKE_COMMAND} -E touch ${_docs}/stamp
  DEPENDS mcapkit ${PROJECT_SOURCE_DIR}/cmake/GenerateDocs.cmake
  COMMENT "Generating the manual pages and the bash completion from mcapkit's option tables"
  VERBATIM)
add_custom_target(mcapkit-docs ALL DEPENDS ${_docs}/stamp)
install(DIRECTORY ${_docs}/man1 DESTINATION ${CMAKE_INSTALL_MANDIR})
install(FILES ${_docs}/completion/mcapkit
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions)
# The upload agent's systemd unit (it runs /usr/bin/mcapkit with /etc/mcapkit/agent.env) and
# that file's example, to copy there and fill in.
install(FILES ${PROJECT_SOURCE_DIR}/dist/mcapkit-agent.service
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/dist/mcapkit-agent.env
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# ---- pkg-config files. Their prefix is the one installed to (`cmake --install --prefix`,
# or cpack's /usr), so they are written at install time from files configured here.
_mcapkit_external_deps(MCAP mcap)
_mcapkit_external_deps(PIPELINE ${MCAPKIT_PIPELINE_TARGETS})
list(JOIN MCAP_modules ", " MCAP_PC_REQUIRES_PRIVATE)
list(JOIN MCAP_libs " " MCAP_PC_LIBS_PRIVATE)
set(PIPELINE_PC_REQUIRES "")
foreach(m IN LISTS PIPELINE_modules)
  string(APPEND PIPELINE_PC_REQUIRES ", ${m}")
endforeach()
_mcapkit_pipeline_link_order(_pl_flags)
list(APPEND _pl_flags ${PIPELINE_libs})
list(JOIN _pl_flags " " PIPELINE_PC_LIBS)
# Left for the install-time pass: configure_file() there replaces these with real paths.
set(MCAPKIT_PC_PREFIX "@MCAPKIT_PC_PREFIX@")
set(MCAPKIT_PC_LIBDIR "@MCAPKIT_PC_LIBDIR@")
set(MCAPKIT_PC_INCLUDEDIR "@MCAPKIT_PC_INCLUDEDIR@")
foreach(pc mcap mcapkit-pipeline)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in
                 @ONLY)
  install(CODE "
    set(MCAPKIT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
    cmake_path(ABSOLUTE_PATH CMAKE_INSTALL_LIBDIR BASE_DIRECTORY \"\${CMAKE_INSTALL_PREFIX}\"
               OUTPUT_VARIABLE MCAPKIT_PC_LIBDIR)
    set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
    cmake_path(ABSOLUTE_PATH CMAKE_INSTALL_INCLUDEDIR BASE_DIRECTORY \"\${CMAKE_INSTALL_PREFIX}\"
               OUTPUT_VARIABLE MCAPKIT_PC_INCLUDEDIR)
    set(_pc \"\$ENV{DESTDIR}\${MCAPKIT_PC_LIBDIR}/pkgconfig/${pc}.pc\")
    message(STATUS \"Installing: \${_pc}\")
    configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in\" \"\${_pc}\" @ONLY)
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${_pc}\")
  ")
endforeach()

# ---- the CMake package
set(MCAPKIT_CONFIG_PACKAGES ${MCAP_packages} ${PIPELINE_packages})
list(REMOVE_DUPLICATES MCAPKIT_CONFIG_PACKAGES)
set(_pc_prefixes ${MCAP_pkgconfig} ${PIPELINE_pkgconfig})
list(REMOVE_DUPLICATES _pc_prefixes)
set(MCAPKIT_CONFIG_PKG_MODULES "")
foreach(p IN LISTS _pc_prefixes)
  list(APPEND MCAPKIT_CONFIG_PKG_MODULES "${p}|${_mcapkit_pkg_${p}}")
endforeach()
set(_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/mcapkit)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mcapkitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/mcapkitConfig.cmake INSTALL_DESTINATION ${_cmakedir})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/mcapkitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(EXPORT mcapkitTargets NAMESPACE mcapkit:: DESTINATION ${_cmakedir})
install(FILES ${PROJECT_BINARY_DIR}/cmake/mcapkitConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/mcapkitConfigVersion.cmake
        DESTINATION ${_cmakedir})
