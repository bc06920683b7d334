import Foundation

/// A zip archive of small files, built in memory: entries stored without compression (transcripts are small, and a
/// stored entry needs nothing but a CRC-32), as every unzip tool and Python's `zipfile` read them. Not for archives of
/// 4 GB or more (no zip64).
struct ZipArchive {
    private(set) var bytes: [UInt8] = []
    private var directory: [UInt8] = []
    private var count = 0
    /// The entries' modification time, in MS-DOS form.
    private let dosTime: UInt16
    private let dosDate: UInt16

    init(date: Date = Date()) {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        dosTime = UInt16((parts.hour ?? 0) << 11 | (parts.minute ?? 0) << 5 | (parts.second ?? 0) / 2)
        dosDate = UInt16(max(0, (parts.year ?? 1980) - 1980) << 9 | (parts.month ?? 1) << 5 | (parts.day ?? 1))
    }

    /// Adds a file under `name` (UTF-8, '/' separating folders).
    mutating func add(_ name: String, _ data: [UInt8]) {
        let nameBytes = Array(name.utf8)
        let crc = Self.crc32(data)
        let offset = UInt32(bytes.count)
        // Local file header: version 2.0, flag bit 11 (UTF-8 names), stored.
        var local: [UInt8] = []
        local.append32(0x0403_4b50)
        local.append16(20); local.append16(0x0800); local.append16(0)
        local.append16(dosTime); local.append16(dosDate)
        local.append32(crc); local.append32(UInt32(data.count)); local.append32(UInt32(data.count))
        local.append16(UInt16(nameBytes.count)); local.append16(0)
        bytes += local + nameBytes + data
        // Its central directory record.
        directory.append32(0x0201_4b50)
        directory.append16(20); directory.append16(20); directory.append16(0x0800); directory.append16(0)
        directory.append16(dosTime); directory.append16(dosDate)
        directory.append32(crc); directory.append32(UInt32(data.count)); directory.append32(UInt32(data.count))
        directory.append16(UInt16(nameBytes.count)); directory.append16(0); directory.append16(0)
        directory.append16(0); directory.append16(0); directory.append32(0o100644 << 16)
        directory.append32(offset)
        directory += nameBytes
        count += 1
    }

    /// The whole archive: the entries, the central directory and its end record.
    func finished() -> [UInt8] {
        var end: [UInt8] = []
        end.append32(0x0605_4b50)
        end.append16(0); end.append16(0)
        end.append16(UInt16(count)); end.append16(UInt16(count))
        end.append32(UInt32(directory.count)); end.append32(UInt32(bytes.count))
        end.append16(0)
        return bytes + directory + end
    }

    /// CRC-32 (IEEE 802.3, as zip uses it).
    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }
}

extension [UInt8] {
    /// Appends a little-endian 16-bit value.
    fileprivate mutating func append16(_ value: UInt16) {
        append(UInt8(value & 0xFF)); append(UInt8(value >> 8))
    }

    /// Appends a little-endian 32-bit value.
    fileprivate mutating func append32(_ value: UInt32) {
        append16(UInt16(value & 0xFFFF)); append16(UInt16(value >> 16))
    }
}
