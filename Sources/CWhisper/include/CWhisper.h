#ifndef WHISPERAPI_CWHISPER_H
#define WHISPERAPI_CWHISPER_H
// WhisperAPI's bridge to libwhisper (whisper.cpp). libwhisper is opened at run time (dlopen), so the service builds
// and runs without it; the bridge is compiled against whisper.h when scripts/build-whispercpp.sh has installed it.

#include <stdbool.h>
#include <stdint.h>

/// Opens libwhisper at `path` and resolves what the bridge calls. NULL on success, else a message (static storage).
const char *wa_load_library(const char *path);

/// Loads a ggml model file on the CPU; NULL when it cannot be loaded.
void *wa_model_load(const char *path);
void wa_model_free(void *model);
bool wa_model_is_multilingual(void *model);

/// What one run reports back, through `user`.
typedef struct wa_callbacks {
    void *user;
    /// Whisper's progress, 0-100.
    void (*progress)(void *user, int percent);
    /// `count` new segments are ready in `state`, starting at index `first`.
    void (*segments)(void *user, void *state, int first, int count);
    /// Asked often during the run: true stops it.
    bool (*should_abort)(void *user);
} wa_callbacks;

/// One run's options.
typedef struct wa_options {
    /// A language code, or NULL to detect it.
    const char *language;
    bool translate;
    /// Text that conditions the first window, or NULL.
    const char *prompt;
    int threads;
    /// Beam search width; 1 or less decodes greedily.
    int beam_size;
    /// Per-token start and end times (for word timestamps).
    bool token_timestamps;
} wa_options;

/// Per-run working memory over a shared model (several may run at once on one model).
void *wa_state_new(void *model);
void wa_state_free(void *state);

/// Transcribes 16 kHz mono float samples. 0 when done; otherwise whisper's error code (an abort is not 0).
int wa_run(void *model, void *state, const float *samples, int count, wa_options options, wa_callbacks callbacks);

int wa_segment_count(void *state);
/// Segment times in hundredths of a second.
int64_t wa_segment_t0(void *state, int segment);
int64_t wa_segment_t1(void *state, int segment);
const char *wa_segment_text(void *state, int segment);
float wa_segment_no_speech_prob(void *state, int segment);

/// One decoded token: its text, probability, log probability and times (hundredths of a second); `special` for
/// control and timestamp tokens, which are not text.
typedef struct wa_token {
    const char *text;
    float p;
    float plog;
    int64_t t0;
    int64_t t1;
    bool special;
} wa_token;

int wa_token_count(void *state, int segment);
wa_token wa_token_at(void *model, void *state, int segment, int token);

/// The language the run used (detected or given), as a code such as "en".
const char *wa_language(void *state);

#endif
