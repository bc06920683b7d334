import Foundation

/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`.
///
/// A test compares its paths and methods with the router's routes, so neither can change alone.
enum OpenAPIDocument {
    /// The document as served: `source` with a 429 answer added to every operation that needs a key (any of
    /// them may meet the rate limit), so the list is not repeated on every route by hand.
    static let json: String = {
        guard var document = try? JSONSerialization.jsonObject(with: Data(source.utf8)) as? [String: Any],
              var paths = document["paths"] as? [String: [String: Any]]
        else { return source }
        let limited: [String: Any] = ["$ref": "#/components/responses/Error"]
        for (path, operations) in paths {
            var updated = operations
            for (method, value) in operations {
                guard var operation = value as? [String: Any], (operation["security"] as? [Any])?.isEmpty != true,
                      var responses = operation["responses"] as? [String: Any]
                else { continue }
                if responses["429"] == nil {
                    responses["429"] = path.hasPrefix("/v1/") ? ["$ref": "#/components/responses/OpenAIError"] : limited
                }
                operation["responses"] = responses
                updated[method] = operation
            }
            paths[path] = updated
        }
        document["paths"] = paths
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]) else { return source }
        return String(decoding: data, as: UTF8.self)
    }()

    static let source = #"""
    {
      "openapi": "3.1.0",
      "info": {"title": "WhisperAPI", "version": "1.0.0",
               "description": "Self-hostable speech-to-text: the seed's REST API, OpenAI-compatible audio routes, live progress, signed webhooks, plans with rate limits and quotas, and an admin API. Every authenticated answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset; 429 answers (RATE_LIMITED, TOO_MANY_CONCURRENT_JOBS, QUOTA_EXCEEDED) carry Retry-After."},
      "security": [{"bearer": []}, {"session": []}],
      "paths": {
        "/health": {"get": {"summary": "Liveness", "security": [],
          "responses": {"200": {"description": "Up", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}}}}},
        "/ready": {"get": {"summary": "Readiness: the database, the queue and the object store each answer within 2 s; a 503 names those that did not (in allowed)", "security": [],
          "responses": {"200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}},
                        "503": {"$ref": "#/components/responses/Error"}}}},
        "/openapi.json": {"get": {"summary": "This document", "security": [],
          "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/api/v1/files": {"get": {"summary": "A stored object at a signed, expiring URL (local storage)", "security": [],
          "parameters": [{"name": "key", "in": "query", "required": true, "schema": {"type": "string"}},
                         {"name": "expires", "in": "query", "required": true, "schema": {"type": "string"}},
                         {"name": "signature", "in": "query", "required": true, "schema": {"type": "string"}}],
          "responses": {"200": {"description": "The object", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}, "application/json": {"schema": {"type": "object"}}}},
                        "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcribe": {"post": {"summary": "Upload audio; it becomes a queued job with the plan's priority",
          "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/UploadForm"}}}},
          "responses": {"202": {"description": "Queued", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmittedEnvelope"}}}},
                        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                        "413": {"$ref": "#/components/responses/Error"}, "415": {"$ref": "#/components/responses/Error"},
                        "503": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcribe/{id}": {"delete": {"summary": "Cancel a queued or running transcription", "parameters": [{"$ref": "#/components/parameters/Id"}],
          "responses": {"200": {"description": "Outcome", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CancelEnvelope"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/status/{id}": {"get": {"summary": "Status and progress", "parameters": [{"$ref": "#/components/parameters/Id"}],
          "responses": {"200": {"description": "Status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StatusEnvelope"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcriptions": {"get": {"summary": "Your transcriptions, newest first",
          "parameters": [{"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/Status"}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                         {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PageEnvelope"}}}},
                        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcriptions/{id}": {"get": {"summary": "One transcription", "parameters": [{"$ref": "#/components/parameters/Id"}],
          "responses": {"200": {"description": "The transcription", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TranscriptionEnvelope"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcriptions/{id}/result": {"get": {"summary": "The transcript in a format, or (redirect=1) the stored document at a short-lived URL",
          "parameters": [{"$ref": "#/components/parameters/Id"},
                         {"name": "format", "in": "query", "schema": {"$ref": "#/components/schemas/Format"}},
                         {"name": "redirect", "in": "query", "schema": {"type": "string", "enum": ["1", "true"]}}],
          "responses": {"200": {"description": "The transcript", "content": {"application/json": {"schema": {"type": "object"}}, "text/plain": {"schema": {"type": "string"}},
                                                                         "application/x-subrip": {"schema": {"type": "string"}}, "text/vtt": {"schema": {"type": "string"}}}},
                        "307": {"description": "Redirect to the stored result", "headers": {"Location": {"schema": {"type": "string"}}}},
                        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                        "409": {"$ref": "#/components/responses/Error"}, "410": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcriptions/{id}/events": {"get": {"summary": "Server-Sent Events: queued, progress, completed | failed | cancelled",
          "parameters": [{"$ref": "#/components/parameters/Id"}, {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "An event stream; each event's data is the status", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/ProgressEvent"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/events": {"get": {"summary": "Server-Sent Events for every change to any of the caller's transcriptions (queued, progress, completed, failed, cancelled); each event's id is the change's time in milliseconds, so a client reconnecting with Last-Event-ID gets what it missed",
          "parameters": [{"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "An event stream; each event's data is the transcription", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/UserEvent"}}}},
                        "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcriptions/{id}/audio": {"get": {"summary": "The uploaded audio, with HTTP range requests (206) so players can seek",
          "parameters": [{"$ref": "#/components/parameters/Id"}, {"name": "Range", "in": "header", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "The whole file", "content": {"audio/*": {"schema": {"type": "string", "format": "binary"}}}},
                        "206": {"description": "The requested bytes", "headers": {"Content-Range": {"schema": {"type": "string"}}}, "content": {"audio/*": {"schema": {"type": "string", "format": "binary"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                        "410": {"$ref": "#/components/responses/Error"}, "416": {"$ref": "#/components/responses/Error"}}}},
        "/auth/session": {
          "get": {"summary": "The dashboard session of this browser: who is signed in, its CSRF token and the plan's limits (cookie auth)", "security": [{"session": []}],
            "responses": {"200": {"description": "Signed in", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SessionEnvelope"}}}},
                          "401": {"$ref": "#/components/responses/Error"}}},
          "post": {"summary": "Sign in with an API key: answers with an HttpOnly, SameSite=Strict session cookie", "security": [],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}}}}},
            "responses": {"200": {"description": "Signed in", "headers": {"Set-Cookie": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SessionEnvelope"}}}},
                          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
                          "429": {"$ref": "#/components/responses/Error"}}},
          "delete": {"summary": "Sign out: the session ends on every API server (needs X-CSRF-Token)", "security": [{"session": []}],
            "responses": {"200": {"description": "Signed out", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcriptions/{id}/retry": {"post": {"summary": "Queue a FAILED transcription again", "parameters": [{"$ref": "#/components/parameters/Id"}],
          "responses": {"200": {"description": "Queued again", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmittedEnvelope"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                        "409": {"$ref": "#/components/responses/Error"}, "410": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/transcriptions/{id}/webhooks": {"get": {"summary": "Every webhook delivery attempt for a transcription, oldest first",
          "parameters": [{"$ref": "#/components/parameters/Id"}],
          "responses": {"200": {"description": "The attempts", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AttemptsEnvelope"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/keys/current/webhook": {
          "get": {"summary": "The calling key's default webhook URL",
            "responses": {"200": {"description": "The setting", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookSettingsEnvelope"}}}},
                          "401": {"$ref": "#/components/responses/Error"}}},
          "put": {"summary": "Set (or with null clear) the calling key's default webhook URL",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookSettings"}}}},
            "responses": {"200": {"description": "The setting", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookSettingsEnvelope"}}}},
                          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/keys/current/webhook/secret": {"post": {"summary": "A new webhook signing secret for the calling key, shown this once",
          "responses": {"200": {"description": "The secret", "content": {"application/json": {"schema": {"type": "object", "required": ["success", "data"], "properties": {
                          "success": {"const": true}, "data": {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string"}}}}}}}},
                        "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/usage": {"get": {"summary": "Your metered audio this month and what is left of your plan's quota",
          "responses": {"200": {"description": "Usage", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UsageEnvelope"}}}},
                        "401": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/admin/users": {
          "get": {"summary": "Every user (admin)", "responses": {"200": {"description": "Users", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UsersEnvelope"}}}},
            "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}},
          "post": {"summary": "Create a user (admin)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["email"], "properties": {
              "email": {"type": "string"}, "plan": {"$ref": "#/components/schemas/Plan"}, "isAdmin": {"type": "boolean"}}}}}},
            "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserEnvelope"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "409": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/admin/users/{user}": {
          "get": {"summary": "One user, by id or email (admin)", "parameters": [{"$ref": "#/components/parameters/User"}],
            "responses": {"200": {"description": "The user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserEnvelope"}}}},
              "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
          "patch": {"summary": "Change a user's plan (admin)", "parameters": [{"$ref": "#/components/parameters/User"}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["plan"], "properties": {"plan": {"$ref": "#/components/schemas/Plan"}}}}}},
            "responses": {"200": {"description": "The user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserEnvelope"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/admin/users/{user}/usage": {"get": {"summary": "A user's usage this month (admin)", "parameters": [{"$ref": "#/components/parameters/User"}],
          "responses": {"200": {"description": "Usage", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UsageEnvelope"}}}},
            "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/admin/users/{user}/keys": {
          "get": {"summary": "A user's keys, never their secrets (admin)", "parameters": [{"$ref": "#/components/parameters/User"}],
            "responses": {"200": {"description": "Keys", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeysEnvelope"}}}},
              "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
          "post": {"summary": "Create a key for a user; the key and its webhook secret are shown this once (admin)", "parameters": [{"$ref": "#/components/parameters/User"}],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}},
            "responses": {"201": {"description": "The new key", "content": {"application/json": {"schema": {"type": "object", "required": ["success", "data"], "properties": {
              "success": {"const": true}, "data": {"type": "object", "required": ["prefix", "key", "webhookSecret"], "properties": {
                "prefix": {"type": "string"}, "key": {"type": "string"}, "webhookSecret": {"type": "string"}}}}}}}},
              "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/admin/keys/{prefix}": {"delete": {"summary": "Revoke a key by its display prefix; refused at once on every server (admin)",
          "parameters": [{"name": "prefix", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": {"200": {"description": "Revoked", "content": {"application/json": {"schema": {"type": "object", "required": ["success", "data"], "properties": {
            "success": {"const": true}, "data": {"type": "object", "properties": {"revoked": {"type": "string"}}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/admin/queue": {"get": {"summary": "Job counts by state (admin)",
          "responses": {"200": {"description": "Counts", "content": {"application/json": {"schema": {"type": "object", "required": ["success", "data"], "properties": {
            "success": {"const": true}, "data": {"type": "object", "required": ["waiting", "active", "completed", "failed", "delayed", "cancelled"], "properties": {
              "waiting": {"type": "integer"}, "active": {"type": "integer"}, "completed": {"type": "integer"}, "failed": {"type": "integer"},
              "delayed": {"type": "integer"}, "cancelled": {"type": "integer"}}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
        "/api/v1/admin/queue/cleanup": {"post": {"summary": "Remove finished jobs past their retention now (admin)",
          "responses": {"200": {"description": "How many were removed", "content": {"application/json": {"schema": {"type": "object", "required": ["success", "data"], "properties": {
            "success": {"const": true}, "data": {"type": "object", "required": ["removed"], "properties": {"removed": {"type": "integer"}}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
        "/v1/models": {"get": {"summary": "Model names accepted (OpenAI)",
          "responses": {"200": {"description": "Models", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}},
                        "401": {"$ref": "#/components/responses/OpenAIError"}}}},
        "/v1/audio/transcriptions": {"post": {"summary": "Transcribe (OpenAI); waits for the job",
          "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/OpenAIForm"}}}},
          "responses": {"200": {"$ref": "#/components/responses/OpenAIResult"}, "400": {"$ref": "#/components/responses/OpenAIError"},
                        "401": {"$ref": "#/components/responses/OpenAIError"}, "413": {"$ref": "#/components/responses/OpenAIError"},
                        "415": {"$ref": "#/components/responses/OpenAIError"}, "500": {"$ref": "#/components/responses/OpenAIError"}}}},
        "/v1/audio/translations": {"post": {"summary": "Translate to English (OpenAI); waits for the job",
          "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/OpenAIForm"}}}},
          "responses": {"200": {"$ref": "#/components/responses/OpenAIResult"}, "400": {"$ref": "#/components/responses/OpenAIError"},
                        "401": {"$ref": "#/components/responses/OpenAIError"}, "413": {"$ref": "#/components/responses/OpenAIError"},
                        "415": {"$ref": "#/components/responses/OpenAIError"}, "500": {"$ref": "#/components/responses/OpenAIError"}}}}
      },
      "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A WhisperAPI key (wapi_…)"},
                            "session": {"type": "apiKey", "in": "cookie", "name": "wapi_session", "description": "The dashboard's session (POST /auth/session); state-changing requests also send X-CSRF-Token"}},
        "parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                       "User": {"name": "user", "in": "path", "required": true, "description": "A user's id or email", "schema": {"type": "string"}}},
        "responses": {
          "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}},
          "OpenAIError": {"description": "An error in OpenAI's shape", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}},
          "OpenAIResult": {"description": "The transcript in the requested response_format",
            "content": {"application/json": {"schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
                        "text/plain": {"schema": {"type": "string"}}, "application/x-subrip": {"schema": {"type": "string"}}, "text/vtt": {"schema": {"type": "string"}},
                        "text/event-stream": {"schema": {"$ref": "#/components/schemas/TextStreamEvent"}}}}
        },
        "schemas": {
          "Format": {"type": "string", "enum": ["json", "text", "srt", "vtt", "verbose_json"]},
          "Status": {"type": "string", "enum": ["QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]},
          "UploadForm": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}, "model": {"type": "string", "enum": ["tiny.en", "base", "whisper-1"]},
            "format": {"$ref": "#/components/schemas/Format"}, "language": {"type": "string"}, "prompt": {"type": "string"},
            "task": {"type": "string", "enum": ["transcribe", "translate"]}, "word_timestamps": {"type": "string"},
            "webhook_url": {"type": "string", "description": "http(s) URL told of the end; signed with the key's webhook secret"}}},
          "OpenAIForm": {"type": "object", "required": ["file", "model"], "properties": {
            "file": {"type": "string", "format": "binary"}, "model": {"type": "string"}, "language": {"type": "string"}, "prompt": {"type": "string"},
            "response_format": {"$ref": "#/components/schemas/Format"}, "temperature": {"type": "number"},
            "timestamp_granularities[]": {"type": "array", "items": {"type": "string", "enum": ["word", "segment"]}}, "stream": {"type": "boolean"},
            "webhook_url": {"type": "string"}}},
          "ErrorEnvelope": {"type": "object", "required": ["success", "error"], "properties": {
            "success": {"const": false},
            "error": {"type": "object", "required": ["code", "message"], "properties": {
              "code": {"type": "string"}, "message": {"type": "string"}, "allowed": {"type": "array", "items": {"type": "string"}}}}}},
          "OpenAIError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["message", "type", "code"], "properties": {
            "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]}, "code": {"type": "string"}}}}},
          "Submitted": {"type": "object", "required": ["transcriptionId", "jobId", "status"], "properties": {
            "transcriptionId": {"type": "string"}, "jobId": {"type": "string"}, "status": {"$ref": "#/components/schemas/Status"}}},
          "StatusBody": {"type": "object", "required": ["transcriptionId", "status", "progress", "createdAt"], "properties": {
            "transcriptionId": {"type": "string"}, "jobId": {"type": "string"}, "status": {"$ref": "#/components/schemas/Status"},
            "progress": {"type": "integer"}, "durationSeconds": {"type": "number"}, "errorMessage": {"type": "string"},
            "createdAt": {"type": "string"}, "completedAt": {"type": "string"}, "resultUrl": {"type": "string"}}},
          "Transcription": {"type": "object", "required": ["id", "status", "progress", "model", "format", "task", "fileSize", "createdAt", "updatedAt"], "properties": {
            "id": {"type": "string"}, "status": {"$ref": "#/components/schemas/Status"}, "jobId": {"type": "string"}, "progress": {"type": "integer"},
            "model": {"type": "string"}, "format": {"$ref": "#/components/schemas/Format"}, "language": {"type": "string"},
            "task": {"type": "string"}, "originalFilename": {"type": "string"}, "fileSize": {"type": "integer"}, "durationSeconds": {"type": "number"},
            "errorMessage": {"type": "string"}, "createdAt": {"type": "string"}, "updatedAt": {"type": "string"}, "completedAt": {"type": "string"},
            "resultUrl": {"type": "string"}}},
          "SubmittedEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"$ref": "#/components/schemas/Submitted"}}},
          "StatusEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"$ref": "#/components/schemas/StatusBody"}}},
          "TranscriptionEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"$ref": "#/components/schemas/Transcription"}}},
          "CancelEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"type": "object",
            "required": ["transcriptionId", "cancelled", "status"], "properties": {
              "transcriptionId": {"type": "string"}, "cancelled": {"type": "boolean"}, "status": {"$ref": "#/components/schemas/Status"}}}}},
          "PageEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"type": "object",
            "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Transcription"}}, "nextCursor": {"type": ["string", "null"]}}}}},
          "ProgressEvent": {"type": "object", "required": ["event", "data"], "properties": {
            "event": {"type": "string", "enum": ["queued", "progress", "completed", "failed", "cancelled"]}, "id": {"type": "string"}, "retry": {"type": "integer"},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {"$ref": "#/components/schemas/StatusBody"}}}},
          "TextStreamEvent": {"type": "object", "required": ["data"], "description": "stream=true: transcript.text.delta events, then transcript.text.done (or an error)",
            "properties": {"data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {"oneOf": [
              {"type": "object", "required": ["type", "delta"], "properties": {"type": {"const": "transcript.text.delta"}, "delta": {"type": "string"}}},
              {"type": "object", "required": ["type", "text"], "properties": {"type": {"const": "transcript.text.done"}, "text": {"type": "string"}}},
              {"$ref": "#/components/schemas/OpenAIError"}]}}}},
          "Plan": {"type": "string", "enum": ["FREE", "PRO", "PAYG"]},
          "User": {"type": "object", "required": ["id", "email", "plan", "isAdmin", "createdAt"], "properties": {
            "id": {"type": "string"}, "email": {"type": "string"}, "plan": {"$ref": "#/components/schemas/Plan"}, "isAdmin": {"type": "boolean"}, "createdAt": {"type": "string"}}},
          "UserEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"$ref": "#/components/schemas/User"}}},
          "UsersEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}}}},
          "KeysEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": {"type": "object", "required": ["prefix", "createdAt"], "properties": {
              "prefix": {"type": "string"}, "name": {"type": "string"}, "createdAt": {"type": "string"}, "lastUsedAt": {"type": "string"},
              "revokedAt": {"type": "string"}, "webhookUrl": {"type": "string"}}}}}}}},
          "UsageEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"type": "object",
            "required": ["userId", "plan", "period", "audioSeconds", "audioMinutes", "jobs", "quotaMinutes", "remainingMinutes", "periodEndsAt"], "properties": {
              "userId": {"type": "string"}, "plan": {"$ref": "#/components/schemas/Plan"}, "period": {"type": "string"}, "audioSeconds": {"type": "number"},
              "audioMinutes": {"type": "number"}, "jobs": {"type": "integer"}, "quotaMinutes": {"type": ["integer", "null"]},
              "remainingMinutes": {"type": ["number", "null"]}, "periodEndsAt": {"type": "string"},
              "daily": {"type": "array", "items": {"type": "object", "required": ["day", "audioMinutes"], "properties": {"day": {"type": "string"}, "audioMinutes": {"type": "number"}}}}}}}},
          "UserEvent": {"type": "object", "required": ["event", "data"], "properties": {
            "event": {"type": "string", "enum": ["queued", "progress", "completed", "failed", "cancelled"]}, "id": {"type": "string"}, "retry": {"type": "integer"},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {"$ref": "#/components/schemas/Transcription"}}}},
          "SessionEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"type": "object",
            "required": ["user", "csrfToken", "expiresAt", "keyPrefix", "limits"], "properties": {
              "user": {"$ref": "#/components/schemas/User"}, "csrfToken": {"type": "string"}, "expiresAt": {"type": "string"}, "keyPrefix": {"type": "string"},
              "limits": {"type": "object", "properties": {"models": {"type": "array", "items": {"type": "string"}}, "maxUploadBytes": {"type": "integer"},
                "concurrentJobs": {"type": "integer"}, "requestsPerMinute": {"type": "integer"}, "monthlyMinutes": {"type": ["integer", "null"]}}}}}}},
          "WebhookSettings": {"type": "object", "required": ["url"], "properties": {"url": {"type": ["string", "null"]}}},
          "WebhookSettingsEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"$ref": "#/components/schemas/WebhookSettings"}}},
          "AttemptsEnvelope": {"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": {"type": "object",
            "required": ["items"], "properties": {"items": {"type": "array", "items": {"type": "object",
              "required": ["deliveryId", "event", "url", "attempt", "succeeded", "willRetry", "durationMs", "createdAt"], "properties": {
                "deliveryId": {"type": "string"}, "event": {"type": "string", "enum": ["transcription.completed", "transcription.failed", "transcription.cancelled"]},
                "url": {"type": "string"}, "attempt": {"type": "integer"}, "statusCode": {"type": "integer"}, "error": {"type": "string"},
                "succeeded": {"type": "boolean"}, "willRetry": {"type": "boolean"}, "durationMs": {"type": "integer"}, "createdAt": {"type": "string"}}}}}}}},
          "ModelList": {"type": "object", "required": ["object", "data"], "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {
            "type": "object", "required": ["id", "object"], "properties": {"id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"}, "owned_by": {"type": "string"}}}}}}
        }
      }
    }
    """#
}
