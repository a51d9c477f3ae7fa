// MPI's handles and constants are macros (or addresses of library globals) that Swift
// cannot import; these inline functions hand them to Swift as values.
#include <mpi.h>

static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cmpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op cmpi_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_max(void) { return MPI_MAX; }
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Info cmpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cmpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int cmpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int cmpi_any_source(void) { return MPI_ANY_SOURCE; }
/// The rank a received message came from (MPI_Status's field, named alike in every MPI).
static inline int cmpi_status_source(const MPI_Status *status) { return status->MPI_SOURCE; }

// bfloat16 all-reduce (Horovod-style gradient compression, distributed.allreduce_dtype: bf16):
// values travel as uint16 bf16 bits and are summed by a user-defined operation that adds in
// Float32 and rounds each partial sum back to bf16 (to nearest, ties to even, NaN kept quiet),
// as TensorCore's BFloat16 does.
#include <stdint.h>
#include <string.h>

static inline float cmpi_bf16_to_float(uint16_t bits) {
    uint32_t x = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &x, sizeof value);
    return value;
}

static inline uint16_t cmpi_bf16_from_float(float value) {
    uint32_t x;
    memcpy(&x, &value, sizeof x);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x | 0x00400000u) >> 16);
    return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

static void cmpi_bf16_sum_function(void *in, void *inout, int *length, MPI_Datatype *type) {
    (void)type;
    const uint16_t *a = (const uint16_t *)in;
    uint16_t *b = (uint16_t *)inout;
    for (int i = 0; i < *length; i++) b[i] = cmpi_bf16_from_float(cmpi_bf16_to_float(a[i]) + cmpi_bf16_to_float(b[i]));
}

static inline MPI_Datatype cmpi_uint16(void) { return MPI_UINT16_T; }

/// The bf16 sum operation, created on first use (by the one thread that calls MPI) and kept.
static inline MPI_Op cmpi_bf16_sum(void) {
    static MPI_Op op = MPI_OP_NULL;
    if (op == MPI_OP_NULL) MPI_Op_create(cmpi_bf16_sum_function, 1, &op);
    return op;
}
