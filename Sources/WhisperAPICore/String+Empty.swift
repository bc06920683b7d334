extension String {
    /// nil for an empty string.
    public var nilIfEmpty: String? { isEmpty ? nil : self }
}
