/* tests/fuzz/fuzz_wire.c: libFuzzer target for the control protocol parser
 * (any local user can send uoad these bytes): it must never crash, and what
 * it accepts must be self-consistent. Built and run by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        wire_request r;
        char *copy = malloc(size + 1);

        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = '\0';
        if (wire_request_parse((const char *) data, size, &r) == 0) {
                if (r.verb >= _WIRE_VERB_MAX)
                        abort();
                if (r.body && (r.body < (const char *) data || r.body + r.body_len > (const char *) data + size))
                        abort();
                if (r.verb == WIRE_REGISTER && (r.fd < 0 || !r.has_uid))
                        abort();
        }
        /* The reply parser sees what uoad sends, but clients must not crash
         * on a malformed one either. */
        {
                const char *msg, *payload;

                (void) wire_reply_status(copy, &msg, &payload);
        }
        free(copy);
        return 0;
}
