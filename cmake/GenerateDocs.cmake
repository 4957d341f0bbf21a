# GenerateDocs.cmake - run at build time (cmake -P) by the mcapkit-docs target: the manual
# pages and the bash completion script, both written by the freshly built mcapkit from its
# own command and option tables, so that what is installed never drifts from --help.
#   cmake -DMCAPKIT=<mcapkit> -DOUT=<dir> -P GenerateDocs.cmake
# Writes OUT/man1/*.1 (stale pages of removed commands are deleted first) and
# OUT/completion/mcapkit.
if(NOT MCAPKIT OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DMCAPKIT=<mcapkit> -DOUT=<dir> -P GenerateDocs.cmake")
endif()
file(REMOVE_RECURSE "${OUT}/man1")
file(MAKE_DIRECTORY "${OUT}/man1" "${OUT}/completion")
execute_process(COMMAND "${MCAPKIT}" man --output-dir "${OUT}/man1" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "'mcapkit man --output-dir' failed (${rc})")
endif()
execute_process(COMMAND "${MCAPKIT}" completion bash OUTPUT_FILE "${OUT}/completion/mcapkit.tmp"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "'mcapkit completion bash' failed (${rc})")
endif()
file(RENAME "${OUT}/completion/mcapkit.tmp" "${OUT}/completion/mcapkit")
