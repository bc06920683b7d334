extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal, two digits a byte (digests, MACs, signatures).
    public var hexString: String {
        var out = ""
        for byte in self {
            out.append(Character(Unicode.Scalar(hexDigits[Int(byte >> 4)])))
            out.append(Character(Unicode.Scalar(hexDigits[Int(byte & 0x0F)])))
        }
        return out
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)
