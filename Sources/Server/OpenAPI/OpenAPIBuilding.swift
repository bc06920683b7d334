import OpenAPIKit

/// Small constructors that keep the OpenAPI description close to how the API reads: objects with their
/// required and optional properties, `{success, data}` envelopes, and operations whose error answers are
/// named by status.
enum Schema {
    /// A reference to a schema in the components.
    static func ref(_ name: String, required: Bool = true) -> JSONSchema {
        .reference(.component(named: name), required: required)
    }

    /// An object with the properties it always has and those it may have.
    static func object(_ required: OrderedDictionary<String, JSONSchema> = [:], optional: OrderedDictionary<String, JSONSchema> = [:],
                       description: String? = nil) -> JSONSchema {
        var properties = required
        for (name, schema) in optional { properties[name] = schema.optionalSchemaObject() }
        return .object(description: description, properties: properties)
    }

    /// A string that may only take these values.
    static func oneOf(_ values: String...) -> JSONSchema {
        .string(allowedValues: values.map { AnyCodable($0) })
    }

    /// A successful answer: `{"success": true, "data": …}`.
    static func envelope(_ data: JSONSchema) -> JSONSchema {
        object(["success": .boolean(allowedValues: true), "data": data])
    }

    /// A list answer: `{"success": true, "data": {"items": [...]}}`.
    static func items(_ item: JSONSchema) -> JSONSchema {
        envelope(object(["items": .array(items: item)]))
    }

    /// One event of a `text/event-stream`: its `data` is JSON described by `description`.
    static func serverSentEvent(data description: String) -> JSONSchema {
        object(["event": oneOf("queued", "progress", "completed", "failed", "cancelled"),
                "data": .string(description: description, contentMediaType: .json)],
               optional: ["id": .string, "retry": .integer])
    }

    static let binary = JSONSchema.string(format: .other("binary"))
}

/// Parameters and bodies used by more than one operation.
enum Parameter {
    static let id: Either<OpenAPI.Reference<OpenAPI.Parameter>, OpenAPI.Parameter> = .reference(.component(named: "Id"))
    static let user: Either<OpenAPI.Reference<OpenAPI.Parameter>, OpenAPI.Parameter> = .reference(.component(named: "User"))
    static let lastEventID = query(.header(name: "Last-Event-ID", schema: .string))

    static func query(_ parameter: OpenAPI.Parameter) -> Either<OpenAPI.Reference<OpenAPI.Parameter>, OpenAPI.Parameter> { .b(parameter) }
    static func query(_ name: String, _ schema: JSONSchema, required: Bool = false) -> Either<OpenAPI.Reference<OpenAPI.Parameter>, OpenAPI.Parameter> {
        .b(.query(name: name, required: required, schema: schema))
    }

    static func json(_ schema: JSONSchema, required: Bool = true) -> OpenAPI.Request {
        OpenAPI.Request(content: [.json: .b(OpenAPI.Content(schema: schema))], required: required)
    }

    static func form(_ schema: String) -> OpenAPI.Request {
        OpenAPI.Request(content: [.multipartForm: .b(OpenAPI.Content(schema: Schema.ref(schema)))], required: true)
    }

    /// A multipart form, or a JSON object for a body without a file.
    static func formOrJSON(_ form: String, json: String) -> OpenAPI.Request {
        OpenAPI.Request(content: [
            .multipartForm: .b(OpenAPI.Content(schema: Schema.ref(form))), .json: .b(OpenAPI.Content(schema: Schema.ref(json))),
        ], required: true)
    }
}

/// The answers an operation gives.
enum Answer {
    /// A JSON answer with this schema.
    static func json(_ description: String, _ schema: JSONSchema, headers: OpenAPI.Header.Map? = nil) -> OpenAPI.Response {
        OpenAPI.Response(description: description, headers: headers, content: [.json: .b(OpenAPI.Content(schema: schema))])
    }

    /// A header an answer carries.
    static func header(_ name: String) -> OpenAPI.Header.Map {
        [name: .b(OpenAPI.Header(schema: .string))]
    }

    /// A media type by its name, for those OpenAPIKit does not name.
    static func media(_ name: String) -> OpenAPI.ContentType {
        OpenAPI.ContentType(rawValue: name) ?? .any
    }
}

/// How an operation is authenticated.
enum Access {
    /// A key or the dashboard's session, as the document's default says.
    case key
    /// Only the dashboard's session cookie.
    case session
    /// No credentials.
    case open
}

/// Builds one operation: its summary, inputs, success answer and error answers by status. Every operation
/// that needs credentials may meet the rate limit, so each gets a 429 without listing it by hand.
func operation(_ summary: String, access: Access = .key, openAI: Bool = false,
               parameters: [Either<OpenAPI.Reference<OpenAPI.Parameter>, OpenAPI.Parameter>] = [],
               body: OpenAPI.Request? = nil,
               answers: OpenAPI.Response.Map, errors: [Int] = []) -> OpenAPI.Operation {
    var responses = answers
    var statuses = errors
    if access != .open, !statuses.contains(429) { statuses.append(429) }
    let error: Either<OpenAPI.Reference<OpenAPI.Response>, OpenAPI.Response> = .reference(.component(named: openAI ? "OpenAIError" : "Error"))
    for status in statuses.sorted() { responses[OpenAPI.Response.StatusCode(integerLiteral: status)] = error }
    let security: [OpenAPI.SecurityRequirement]? = switch access {
    case .key: nil
    case .session: [[.component(named: "session"): []]]
    case .open: []
    }
    return OpenAPI.Operation(summary: summary, parameters: parameters, requestBody: body, responses: responses, security: security)
}

/// The one answer of an operation that succeeds in a single way.
func ok(_ response: OpenAPI.Response, status: OpenAPI.Response.StatusCode = 200) -> OpenAPI.Response.Map {
    [status: .b(response)]
}

/// An ordered dictionary from pairs whose keys are unique.
func ordered<Key: Hashable, Value>(_ pairs: [(Key, Value)]) -> OrderedDictionary<Key, Value> {
    var dictionary = OrderedDictionary<Key, Value>()
    for (key, value) in pairs { dictionary[key] = value }
    return dictionary
}
