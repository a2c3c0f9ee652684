# Fails when completions/<file> differs from `wisp completion <shell>`.
execute_process(COMMAND "${WISP}" completion "${SHELL_NAME}" --color never
  OUTPUT_VARIABLE actual RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "wisp completion ${SHELL_NAME} failed with ${rc}")
endif()
if(NOT EXISTS "${EXPECTED}")
  message(FATAL_ERROR "${EXPECTED} is missing; run: cmake --build <dir> --target update-completions")
endif()
file(READ "${EXPECTED}" expected)
if(NOT actual STREQUAL expected)
  message(FATAL_ERROR "${EXPECTED} has drifted from `wisp completion ${SHELL_NAME}`; "
                      "run: cmake --build <dir> --target update-completions")
endif()
