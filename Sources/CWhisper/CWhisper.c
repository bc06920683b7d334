#include "CWhisper.h"

#include <dlfcn.h>
#include <stddef.h>

#if __has_include(<whisper.h>)
#include <whisper.h>

// Each libwhisper function the bridge calls, resolved by name when the library is opened.
#define WA_FUNCTIONS(X)                                                                                                \
    X(whisper_context_default_params) X(whisper_init_from_file_with_params) X(whisper_free)                           \
    X(whisper_is_multilingual) X(whisper_init_state) X(whisper_free_state) X(whisper_full_default_params)             \
    X(whisper_full_with_state) X(whisper_full_n_segments_from_state) X(whisper_full_get_segment_t0_from_state)       \
    X(whisper_full_get_segment_t1_from_state) X(whisper_full_get_segment_text_from_state)                             \
    X(whisper_full_get_segment_no_speech_prob_from_state) X(whisper_full_n_tokens_from_state)                        \
    X(whisper_full_get_token_data_from_state) X(whisper_full_get_token_text_from_state) X(whisper_token_eot)          \
    X(whisper_full_lang_id_from_state) X(whisper_lang_str) X(whisper_log_set)

#define WA_DECLARE(name) static __typeof__(&name) wa_##name;
WA_FUNCTIONS(WA_DECLARE)

static void *wa_library;

static void wa_quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)level; (void)text; (void)user;
}

const char *wa_load_library(const char *path) {
    if (wa_library) return NULL;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) return dlerror();
#define WA_RESOLVE(name)                                                                                               \
    if (!(wa_##name = (__typeof__(&name))dlsym(library, #name))) return "libwhisper lacks " #name;
    WA_FUNCTIONS(WA_RESOLVE)
    wa_library = library;
    wa_whisper_log_set(wa_quiet, NULL);
    return NULL;
}

void *wa_model_load(const char *path) {
    if (!wa_library) return NULL;
    struct whisper_context_params params = wa_whisper_context_default_params();
    params.use_gpu = false;
    return wa_whisper_init_from_file_with_params(path, params);
}

void wa_model_free(void *model) { if (model) wa_whisper_free(model); }

bool wa_model_is_multilingual(void *model) { return wa_whisper_is_multilingual(model) != 0; }

void *wa_state_new(void *model) { return wa_whisper_init_state(model); }

void wa_state_free(void *state) { if (state) wa_whisper_free_state(state); }

static void wa_on_progress(struct whisper_context *ctx, struct whisper_state *state, int progress, void *user) {
    (void)ctx; (void)state;
    const wa_callbacks *callbacks = user;
    if (callbacks->progress) callbacks->progress(callbacks->user, progress);
}

static void wa_on_segments(struct whisper_context *ctx, struct whisper_state *state, int count, void *user) {
    (void)ctx;
    const wa_callbacks *callbacks = user;
    if (callbacks->segments) {
        callbacks->segments(callbacks->user, state, wa_whisper_full_n_segments_from_state(state) - count, count);
    }
}

static bool wa_on_abort(void *user) {
    const wa_callbacks *callbacks = user;
    return callbacks->should_abort && callbacks->should_abort(callbacks->user);
}

static bool wa_on_encoder_begin(struct whisper_context *ctx, struct whisper_state *state, void *user) {
    (void)ctx; (void)state;
    return !wa_on_abort(user);
}

int wa_run(void *model, void *state, const float *samples, int count, wa_options options, wa_callbacks callbacks) {
    bool beam = options.beam_size > 1;
    struct whisper_full_params params =
        wa_whisper_full_default_params(beam ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
    if (beam) params.beam_search.beam_size = options.beam_size;
    params.n_threads = options.threads > 0 ? options.threads : 1;
    params.translate = options.translate;
    params.language = options.language ? options.language : "auto";
    params.detect_language = false;
    params.initial_prompt = options.prompt;
    params.token_timestamps = options.token_timestamps;
    params.print_progress = false;
    params.print_realtime = false;
    params.print_timestamps = false;
    params.print_special = false;
    params.progress_callback = wa_on_progress;
    params.progress_callback_user_data = &callbacks;
    params.new_segment_callback = wa_on_segments;
    params.new_segment_callback_user_data = &callbacks;
    params.encoder_begin_callback = wa_on_encoder_begin;
    params.encoder_begin_callback_user_data = &callbacks;
    params.abort_callback = wa_on_abort;
    params.abort_callback_user_data = &callbacks;
    return wa_whisper_full_with_state(model, state, params, samples, count);
}

int wa_segment_count(void *state) { return wa_whisper_full_n_segments_from_state(state); }
int64_t wa_segment_t0(void *state, int segment) { return wa_whisper_full_get_segment_t0_from_state(state, segment); }
int64_t wa_segment_t1(void *state, int segment) { return wa_whisper_full_get_segment_t1_from_state(state, segment); }
const char *wa_segment_text(void *state, int segment) {
    return wa_whisper_full_get_segment_text_from_state(state, segment);
}
float wa_segment_no_speech_prob(void *state, int segment) {
    return wa_whisper_full_get_segment_no_speech_prob_from_state(state, segment);
}
int wa_token_count(void *state, int segment) { return wa_whisper_full_n_tokens_from_state(state, segment); }

wa_token wa_token_at(void *model, void *state, int segment, int token) {
    whisper_token_data data = wa_whisper_full_get_token_data_from_state(state, segment, token);
    wa_token out = {
        .text = wa_whisper_full_get_token_text_from_state(model, state, segment, token),
        .p = data.p, .plog = data.plog, .t0 = data.t0, .t1 = data.t1,
        .special = data.id >= wa_whisper_token_eot(model),
    };
    return out;
}

const char *wa_language(void *state) {
    int id = wa_whisper_full_lang_id_from_state(state);
    return id >= 0 ? wa_whisper_lang_str(id) : NULL;
}

#else
// Built without whisper.h: the engine reports that libwhisper is not installed.

const char *wa_load_library(const char *path) {
    (void)path;
    return "this build of whisperapi was compiled without whisper.h (run scripts/build-whispercpp.sh, then build again)";
}
void *wa_model_load(const char *path) { (void)path; return NULL; }
void wa_model_free(void *model) { (void)model; }
bool wa_model_is_multilingual(void *model) { (void)model; return false; }
void *wa_state_new(void *model) { (void)model; return NULL; }
void wa_state_free(void *state) { (void)state; }
int wa_run(void *model, void *state, const float *samples, int count, wa_options options, wa_callbacks callbacks) {
    (void)model; (void)state; (void)samples; (void)count; (void)options; (void)callbacks;
    return -1;
}
int wa_segment_count(void *state) { (void)state; return 0; }
int64_t wa_segment_t0(void *state, int segment) { (void)state; (void)segment; return 0; }
int64_t wa_segment_t1(void *state, int segment) { (void)state; (void)segment; return 0; }
const char *wa_segment_text(void *state, int segment) { (void)state; (void)segment; return ""; }
float wa_segment_no_speech_prob(void *state, int segment) { (void)state; (void)segment; return 0; }
int wa_token_count(void *state, int segment) { (void)state; (void)segment; return 0; }
wa_token wa_token_at(void *model, void *state, int segment, int token) {
    (void)model; (void)state; (void)segment; (void)token;
    wa_token none = {0};
    return none;
}
const char *wa_language(void *state) { (void)state; return NULL; }
#endif
