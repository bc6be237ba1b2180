/* A kiosk with the faceseal C API: capture a person through a session,
 * showing the guidance after every frame, and write the sealed envelope for
 * the tenant's backend to post (POST /v1/enrolments or /v1/verifications,
 * with the capture token of the challenge).
 *
 * The kiosk gets from the tenant's backend, here as arguments: the tenant's
 * bundle values (tenant id, X25519 public key, key version and template
 * parameters m and q) with the template secret, the security level, and the
 * challenge nonce of this operation (POST /v1/challenges). The camera is
 * stood in for by picture files, timed 1000 / fps ms apart.
 *
 *   cargo build -p faceseal-ffi
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude examples/kiosk.c \
 *      target/debug/libfaceseal.a -lpthread -ldl -lm -o kiosk
 *   FACESEAL_MODEL_DIR=/path/to/liveness/models ./kiosk enrol TENANT_ID PUBLIC_KEY_HEX \
 *      TEMPLATE_SECRET_HEX KEY_VERSION M Q standard NONCE_HEX SUBJECT CONSENT \
 *      envelope.bin frame1.jpg frame2.jpg ...
 *
 * (`./models`, in the working directory, is searched after FACESEAL_MODEL_DIR.)
 * Exit status: 0 sealed, 1 refused on the device, 2 bad arguments, 3 error. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faceseal.h"

static int fail(const char *what, FacesealStatus status) {
    fprintf(stderr, "%s failed (%s): %s\n", what, faceseal_status_name((uint32_t)status),
            faceseal_last_error_message());
    return 3;
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = size > 0 ? malloc((size_t)size) : NULL;
    *len = data ? fread(data, 1, (size_t)size, f) : 0;
    fclose(f);
    return data;
}

static int hex32(const char *hex, uint8_t out[32]) {
    if (strlen(hex) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static uint32_t level_of(const char *name) {
    if (strcmp(name, "basic") == 0) return FACESEAL_SECURITY_LEVEL_BASIC;
    if (strcmp(name, "standard") == 0) return FACESEAL_SECURITY_LEVEL_STANDARD;
    if (strcmp(name, "strict") == 0) return FACESEAL_SECURITY_LEVEL_STRICT;
    return 0xff;
}

/* The engine for the tenant: its public key and its template secret. */
static FacesealStatus start(const char *tenant_id, const uint8_t public_key[32],
                            uint8_t secret[32], uint32_t key_version, uint32_t m, uint32_t q,
                            FacesealEngine **engine) {
    FacesealConfig *config = NULL;
    FacesealStatus status = faceseal_config_new(&config);
    if (status == FACESEAL_STATUS_OK)
        status = faceseal_config_set_tenant(config, tenant_id, public_key, 32);
    if (status == FACESEAL_STATUS_OK)
        status = faceseal_config_set_template_secret(config, secret, 32, key_version);
    if (status == FACESEAL_STATUS_OK) status = faceseal_config_set_template_params(config, m, q);
    memset(secret, 0, 32);
    if (status == FACESEAL_STATUS_OK) status = faceseal_engine_new(config, engine);
    faceseal_config_free(config);
    return status;
}

/* Pushes every frame, printing what the person should do after each. */
static FacesealStatus push_frames(FacesealCaptureSession *session, char **paths, int count) {
    for (int i = 0; i < count; i++) {
        size_t len = 0;
        uint8_t *bytes = read_file(paths[i], &len);
        if (!bytes) {
            fprintf(stderr, "cannot read %s\n", paths[i]);
            return FACESEAL_STATUS_INVALID_ARGUMENT;
        }
        FacesealFrame frame;
        memset(&frame, 0, sizeof frame);
        frame.data = bytes;
        frame.len = len;
        frame.format = FACESEAL_PIXEL_FORMAT_ENCODED;
        frame.timestamp_ms = (uint64_t)i * 50; /* a 20 fps camera */
        FacesealFrameFeedback feedback;
        FacesealStatus status = faceseal_capture_push_frame(session, &frame, NULL, &feedback);
        free(bytes);
        if (status != FACESEAL_STATUS_OK) return status;
        printf("frame %d: %s (%u of %u good frames)\n", i + 1,
               faceseal_guidance_instruction(feedback.guidance), feedback.usable_frames,
               feedback.frames_needed);
    }
    return FACESEAL_STATUS_OK;
}

int main(int argc, char **argv) {
    if (argc < 14) {
        fprintf(stderr,
                "usage: %s enrol|verify TENANT_ID PUBLIC_KEY_HEX TEMPLATE_SECRET_HEX KEY_VERSION M "
                "Q basic|standard|strict NONCE_HEX SUBJECT CONSENT ENVELOPE_OUT FRAME...\n",
                argv[0]);
        return 2;
    }
    if (faceseal_abi_version() != FACESEAL_ABI_VERSION) {
        fprintf(stderr, "faceseal.h does not match the library\n");
        return 3;
    }
    uint32_t purpose = strcmp(argv[1], "enrol") == 0    ? FACESEAL_PURPOSE_ENROL
                       : strcmp(argv[1], "verify") == 0 ? FACESEAL_PURPOSE_VERIFY
                                                        : 0;
    uint8_t public_key[32], secret[32], nonce[32];
    uint32_t level = level_of(argv[8]);
    if (!purpose || level == 0xff || hex32(argv[3], public_key) || hex32(argv[4], secret) ||
        hex32(argv[9], nonce)) {
        fprintf(stderr, "bad arguments: see the usage\n");
        return 2;
    }
    uint32_t key_version = (uint32_t)strtoul(argv[5], NULL, 10);
    uint32_t m = (uint32_t)strtoul(argv[6], NULL, 10), q = (uint32_t)strtoul(argv[7], NULL, 10);

    FacesealEngine *engine = NULL;
    FacesealStatus status = start(argv[2], public_key, secret, key_version, m, q, &engine);
    if (status != FACESEAL_STATUS_OK) return fail("engine start", status);

    FacesealCaptureConfig config;
    memset(&config, 0, sizeof config);
    config.purpose = purpose;
    config.level = level;
    config.subject_id = argv[10];
    config.consent_ref = argv[11];
    config.challenge = nonce;
    config.challenge_len = sizeof nonce;
    FacesealCaptureSession *session = NULL;
    FacesealCaptureResult result;
    memset(&result, 0, sizeof result);
    int rc = 3;
    status = faceseal_capture_new(engine, &config, &session);
    if (status != FACESEAL_STATUS_OK) {
        fail("session start", status);
        goto done;
    }
    status = push_frames(session, argv + 13, argc - 13);
    if (status != FACESEAL_STATUS_OK) {
        fail("capture", status);
        goto done;
    }
    status = faceseal_capture_finish(session, NULL, &result);
    if (status == FACESEAL_STATUS_NOT_LIVE) {
        printf("refused on the device: not live (score %.3f):", result.decision.score);
        for (uint32_t i = 0; i < result.decision.reason_count; i++)
            printf(" %s", faceseal_refusal_reason_name(result.decision.reasons[i]));
        printf("\n");
        rc = 1;
        goto done;
    }
    if (status != FACESEAL_STATUS_OK) {
        fail("finish", status);
        goto done;
    }
    FILE *out = fopen(argv[12], "wb");
    if (!out || fwrite(result.sealed.data, 1, result.sealed.len, out) != result.sealed.len) {
        fprintf(stderr, "cannot write %s\n", argv[12]);
        if (out) fclose(out);
        goto done;
    }
    fclose(out);
    /* A kiosk in local mode would also keep result.protected_template (on a card). */
    printf("live (score %.3f, quality %.3f): sealed envelope of %zu bytes written to %s\n",
           result.decision.score, result.quality_score, result.sealed.len, argv[12]);
    rc = 0;
done:
    faceseal_capture_result_free(&result);
    faceseal_capture_free(session);
    faceseal_engine_free(engine);
    return rc;
}
