# ctest dist.abort_ends_job: cmake -DMPIEXEC=... -DNP_FLAG=... -DHELPER=... -P abort_ends_job.cmake
# Passes when the job ends with a non-zero status (not a timeout), prints rank 1's message, and
# rank 0 never gets past its barrier.
execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} 2 --oversubscribe ${HELPER}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 45)
message("${out}")
if(NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "the job did not end by itself: ${rc}")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "the job ended with status 0 after an abort")
endif()
string(FIND "${out}" "rank 1 of 2: injected" at)
if(at EQUAL -1)
  message(FATAL_ERROR "rank 1's message \"rank 1 of 2: injected\" is missing")
endif()
string(FIND "${out}" "passed the barrier" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "a rank got past the barrier: abort did not end the job")
endif()
message("abort ended the job with status ${rc}")
