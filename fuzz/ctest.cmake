# ctest fuzz.<parser>: scripts/fuzz.sh builds the clang sub-build of fuzz/ once (fuzz.build) and runs
# each libFuzzer target for LPL_FUZZ_SECONDS over its seed corpus (about 50 s in all). Without
# clang's libFuzzer the script exits 77 and the tests report skipped.
set(LPL_FUZZ_SECONDS 5 CACHE STRING "Seconds each ctest fuzz.<parser> runs its fuzzer")
set(LPL_FUZZ_ENV "FUZZ_BUILD=${CMAKE_BINARY_DIR}/fuzz;FUZZ_WORK=${CMAKE_BINARY_DIR}/fuzz-work")
add_test(NAME fuzz.build COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh --build-only)
set_tests_properties(fuzz.build PROPERTIES FIXTURES_SETUP lpl_fuzz SKIP_RETURN_CODE 77 ENVIRONMENT "${LPL_FUZZ_ENV}")
foreach(t npy safetensors idx idx_gz wmat spk nstate)
  add_test(NAME fuzz.${t} COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh ${LPL_FUZZ_SECONDS} ${t})
  set_tests_properties(fuzz.${t} PROPERTIES FIXTURES_REQUIRED lpl_fuzz SKIP_RETURN_CODE 77 ENVIRONMENT "${LPL_FUZZ_ENV}")
endforeach()
