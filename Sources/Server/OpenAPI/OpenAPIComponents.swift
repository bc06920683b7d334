import OpenAPIKit

/// The reusable parts of the OpenAPI description: security schemes, shared parameters and answers, and the
/// schemas of every body.
enum APIComponents {
    static let all = OpenAPI.Components(
        schemas: schemas,
        responses: [
            "Error": .b(Answer.json("An error", Schema.ref("ErrorEnvelope"))),
            "OpenAIError": .b(Answer.json("An error in OpenAI's shape", Schema.ref("OpenAIError"))),
            "OpenAIResult": .b(.init(description: "The transcript in the requested response_format", content: [
                .json: .b(.init(schema: Schema.object(["text": .string]))), .txt: .b(.init(schema: .string)),
                Answer.media("application/x-subrip"): .b(.init(schema: .string)), Answer.media("text/vtt"): .b(.init(schema: .string)),
                .eventStream: .b(.init(schema: Schema.ref("TextStreamEvent"))),
            ])),
        ],
        parameters: [
            "Id": .b(.path(name: "id", schema: .string)),
            "User": .b(.path(name: "user", schema: .string, description: "A user's id or email")),
        ],
        securitySchemes: [
            "bearer": .b(.http(scheme: "bearer", description: "A WhisperAPI key (wapi_…)")),
            "session": .b(.apiKey(name: "wapi_session", location: .cookie,
                                  description: "The dashboard's session (POST /auth/session); state-changing requests also send X-CSRF-Token")),
        ])

    private static var schemas: OpenAPI.ComponentDictionary<JSONSchema> {
        let all: Schemas = formSchemas + errorSchemas + transcriptionSchemas + accountSchemas
        return ordered(all.map { name, schema in (OpenAPI.ComponentKey(stringLiteral: name), schema) })
    }

    private typealias Schemas = [(String, JSONSchema)]
    private static let plan = Schema.ref("Plan")
    private static let status = Schema.ref("Status")

    /// The options of a native submit, as form fields.
    private static let formOptions: OrderedDictionary<String, JSONSchema> = [
        "model": Schema.oneOf("tiny.en", "base", "whisper-1"), "format": Schema.ref("Format"), "language": .string, "prompt": .string,
        "task": Schema.oneOf("transcribe", "translate"), "word_timestamps": .string,
        "webhook_url": .string(description: "http(s) URL told of the end; signed with the key's webhook secret"),
        "vad_filter": .string(description: "true (the default): decode only the speech; false: all the audio, silence included"),
        "diarize": .string(description: "true: label who spoke when (422 DIARIZATION_UNAVAILABLE where no worker can)"),
        "speakers": .string(description: "the number of speakers, when known (1-20); implies diarize"),
        "min_speakers": .string, "max_speakers": .string,
    ]

    /// `fields` followed by the submit options.
    private static func withFormOptions(_ fields: OrderedDictionary<String, JSONSchema>) -> OrderedDictionary<String, JSONSchema> {
        var all = fields
        for (name, schema) in formOptions { all[name] = schema }
        return all
    }

    private static let formSchemas: Schemas = [
        ("Format", Schema.oneOf("json", "text", "srt", "vtt", "verbose_json", "diarized_json")),
        ("Status", Schema.oneOf("QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED", "EXPIRED")),
        ("Plan", Schema.oneOf("FREE", "PRO", "PAYG")),
        ("UploadForm", Schema.object([:], optional: withFormOptions([
            "file": Schema.binary,
            "audio_url": .string(description: "instead of a file: an http(s) URL the server downloads the audio from"),
        ]))),
        ("BatchForm", Schema.object([:], optional: withFormOptions([
            "file": JSONSchema.array(description: "any number of files (also named files, file[] or files[])", items: Schema.binary),
            "audio_url": JSONSchema.array(description: "any number of http(s) URLs the server downloads", items: .string),
        ]))),
        ("BatchURLs", Schema.object(["audio_urls": .array(description: "http(s) URLs the server downloads, in order", items: .string)], optional: [
            "model": Schema.oneOf("tiny.en", "base", "whisper-1"), "format": Schema.ref("Format"), "language": .string, "prompt": .string,
            "task": Schema.oneOf("transcribe", "translate"), "word_timestamps": .boolean, "webhook_url": .string,
            "vad_filter": .boolean, "diarize": .boolean, "speakers": .integer, "min_speakers": .integer, "max_speakers": .integer,
        ])),
        ("URLSubmission", Schema.object(["audio_url": .string(description: "an http(s) URL the server downloads the audio from")], optional: [
            "model": Schema.oneOf("tiny.en", "base", "whisper-1"), "format": Schema.ref("Format"), "language": .string, "prompt": .string,
            "task": Schema.oneOf("transcribe", "translate"), "word_timestamps": .boolean, "webhook_url": .string,
            "vad_filter": .boolean, "diarize": .boolean, "speakers": .integer, "min_speakers": .integer, "max_speakers": .integer,
        ])),
        ("OpenAIForm", Schema.object(["file": Schema.binary, "model": .string], optional: [
            "language": .string, "prompt": .string, "response_format": Schema.ref("Format"), "temperature": .number,
            "timestamp_granularities[]": .array(items: Schema.oneOf("word", "segment")), "stream": .boolean, "webhook_url": .string,
            "known_speaker_names[]": .array(description: "names for the speakers in order of first appearance (diarized_json)", items: .string),
            "chunking_strategy": .string(description: "\"auto\" or a server_vad object: speech only (our default)"),
        ])),
    ]

    private static let errorSchemas: Schemas = [
        ("ErrorEnvelope", Schema.object([
            "success": .boolean(allowedValues: false),
            "error": Schema.object(["code": .string, "message": .string], optional: ["allowed": .array(items: .string)]),
        ])),
        ("OpenAIError", Schema.object([
            "error": Schema.object(["message": .string, "type": .string, "code": .string], optional: ["param": .string(nullable: true)]),
        ])),
        ("TextStreamEvent", Schema.object(["data": .string(
            description: "JSON: {type: transcript.text.delta, delta} events, then {type: transcript.text.done, text}, or an OpenAI error",
            contentMediaType: .json)],
            description: "stream=true: transcript.text.delta events, then transcript.text.done (or an error)")),
    ]

    private static let transcriptionSchemas: Schemas = [
        ("Submitted", Schema.object(["transcriptionId": .string, "jobId": .string, "status": status])),
        ("StatusBody", Schema.object(
            ["transcriptionId": .string, "status": status, "progress": .integer, "createdAt": .string],
            optional: ["jobId": .string, "durationSeconds": .number, "errorMessage": .string, "completedAt": .string, "resultUrl": .string])),
        ("Transcription", Schema.object(
            ["id": .string, "status": status, "progress": .integer, "model": .string, "format": Schema.ref("Format"), "task": .string,
             "fileSize": .integer, "createdAt": .string, "updatedAt": .string],
            optional: ["jobId": .string, "language": .string, "originalFilename": .string, "durationSeconds": .number,
                       "errorMessage": .string, "completedAt": .string, "resultUrl": .string, "batchId": .string])),
        ("SubmittedEnvelope", Schema.envelope(Schema.ref("Submitted"))),
        ("Batch", Schema.object(
            ["id": .string, "status": Schema.oneOf("QUEUED", "PROCESSING", "COMPLETED"), "progress": .integer, "total": .integer,
             "counts": .object(description: "items by status"), "createdAt": .string,
             "items": .array(items: Schema.object(["transcriptionId": .string, "status": status, "progress": .integer],
                                                  optional: ["originalFilename": .string, "durationSeconds": .number, "errorMessage": .string]))],
            optional: ["completedAt": .string, "resultUrl": .string])),
        ("BatchEnvelope", Schema.envelope(Schema.ref("Batch"))),
        ("BatchPageEnvelope", Schema.envelope(Schema.object(["items": .array(items: Schema.ref("Batch"))],
                                                            optional: ["nextCursor": .string(nullable: true)]))),
        ("StatusEnvelope", Schema.envelope(Schema.ref("StatusBody"))),
        ("TranscriptionEnvelope", Schema.envelope(Schema.ref("Transcription"))),
        ("CancelEnvelope", Schema.envelope(Schema.object(["transcriptionId": .string, "cancelled": .boolean, "status": status]))),
        ("PageEnvelope", Schema.envelope(Schema.object(["items": .array(items: Schema.ref("Transcription"))],
                                                       optional: ["nextCursor": .string(nullable: true)]))),
        ("ProgressEvent", Schema.serverSentEvent(data: "JSON: the status (StatusBody)")),
        ("UserEvent", Schema.serverSentEvent(data: "JSON: the transcription (Transcription)")),
        ("AttemptsEnvelope", Schema.items(Schema.object(
            ["deliveryId": .string, "event": Schema.oneOf("transcription.completed", "transcription.failed", "transcription.cancelled", "batch.completed"),
             "url": .string, "attempt": .integer, "succeeded": .boolean, "willRetry": .boolean, "durationMs": .integer, "createdAt": .string],
            optional: ["statusCode": .integer, "error": .string]))),
        ("ModelList", Schema.object(["object": .string(allowedValues: "list"), "data": .array(items: Schema.object(
            ["id": .string, "object": .string(allowedValues: "model")], optional: ["created": .integer, "owned_by": .string]))])),
    ]

    private static let accountSchemas: Schemas = [
        ("User", Schema.object(["id": .string, "email": .string, "plan": plan, "isAdmin": .boolean, "createdAt": .string])),
        ("UserEnvelope", Schema.envelope(Schema.ref("User"))),
        ("UsersEnvelope", Schema.items(Schema.ref("User"))),
        ("KeysEnvelope", Schema.items(Schema.object(["prefix": .string, "createdAt": .string], optional: [
            "name": .string, "lastUsedAt": .string, "revokedAt": .string, "webhookUrl": .string]))),
        ("UsageEnvelope", Schema.envelope(Schema.object(
            ["userId": .string, "plan": plan, "period": .string, "audioSeconds": .number, "audioMinutes": .number, "jobs": .integer,
             "quotaMinutes": .integer(nullable: true), "remainingMinutes": .number(nullable: true), "periodEndsAt": .string],
            optional: ["daily": .array(items: Schema.object(["day": .string, "audioMinutes": .number]))]))),
        ("SessionEnvelope", Schema.envelope(Schema.object([
            "user": Schema.ref("User"), "csrfToken": .string, "expiresAt": .string, "keyPrefix": .string,
            "limits": Schema.object(optional: ["models": .array(items: .string), "maxUploadBytes": .integer, "concurrentJobs": .integer,
                                               "requestsPerMinute": .integer, "monthlyMinutes": .integer(nullable: true)]),
            "features": Schema.object(["diarization": .boolean]),
        ]))),
        ("WebhookSettings", Schema.object(["url": .string(nullable: true)])),
        ("WebhookSettingsEnvelope", Schema.envelope(Schema.ref("WebhookSettings"))),
    ]
}
