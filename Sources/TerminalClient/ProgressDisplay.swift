import Foundation

/// Shows a run's files: on a terminal one progress bar per file, redrawn in place; otherwise one plain line per
/// change, for logs and scripts.
actor ProgressDisplay {
    let interactive: Bool
    var drawnLines = 0
    /// The last line printed for each file (plain output), so a repeated state is not printed twice.
    var printed: [Int: String] = [:]
    let barWidth = 30

    init(interactive: Bool) {
        self.interactive = interactive
    }

    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    func start(_ entries: [FileEntry]) {
        if !interactive {
            for entry in entries where entry.phase == .skipped {
                Self.write("\(entry.input.lastPathComponent): skipped (outputs exist; --force to redo)\n")
            }
        }
        update(entries, changed: [])
    }

    func update(_ entries: [FileEntry], changed: [(index: Int, entry: FileEntry)]) {
        if interactive {
            redraw(entries)
        } else {
            for change in changed {
                let text = line(change.entry)
                guard printed[change.index] != text else { continue }
                printed[change.index] = text
                Self.write(text + "\n")
            }
        }
    }

    func finish(_ entries: [FileEntry], changed: [(index: Int, entry: FileEntry)]) {
        update(entries, changed: changed)
        Self.write("\n" + Self.summary(entries))
    }

    func redraw(_ entries: [FileEntry]) {
        var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
        let nameWidth = min(32, entries.map { $0.input.lastPathComponent.count }.max() ?? 10)
        let columns = Self.terminalColumns()
        for entry in entries {
            // A line wider than the terminal would wrap, and the next redraw would climb too few lines.
            text += "\u{1B}[2K" + String(bar(entry, nameWidth: nameWidth).prefix(max(20, columns - 1))) + "\n"
        }
        drawnLines = entries.count
        Self.write(text)
    }

    /// The terminal's width (80 when it cannot be told).
    static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    func bar(_ entry: FileEntry, nameWidth: Int) -> String {
        let name = String(entry.input.lastPathComponent.prefix(nameWidth)).padding(toLength: nameWidth, withPad: " ", startingAt: 0)
        let percent = entry.phase.percent
        let filled = barWidth * percent / 100
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
        return "\(name)  \(bar) \(String(percent).leftPadded(3))%  \(detail(entry.phase))"
    }

    func detail(_ phase: FilePhase) -> String {
        switch phase {
        case .uploading(let sent, let total): "uploading \(Self.bytes(sent))/\(Self.bytes(total))"
        case .processing(let progress): "transcribing \(progress)%"
        case .failed(let reason): "failed: \(reason)"
        default: phase.label
        }
    }

    func line(_ entry: FileEntry) -> String {
        let name = entry.input.lastPathComponent
        switch entry.phase {
        case .uploading: return "\(name): uploading"
        case .completed: return "\(name): completed -> \(entry.outputs.map { $0.url.lastPathComponent }.joined(separator: ", "))"
        default: return "\(name): \(detail(entry.phase))"
        }
    }

    static func bytes(_ count: Int64) -> String {
        count >= 1_000_000 ? String(format: "%.1f MB", Double(count) / 1_000_000) : String(format: "%.0f KB", Double(count) / 1000)
    }

    /// The closing table: each file, how it ended, and its outputs or the reason it failed.
    static func summary(_ entries: [FileEntry]) -> String {
        let rows = entries.map { entry -> (String, String, String) in
            let outputs = entry.outputs.map { $0.url.lastPathComponent }.joined(separator: ", ")
            let detail: String = switch entry.phase {
            case .completed, .skipped: outputs
            case .failed(let reason): reason
            case .cancelled: "cancelled"
            default: ""
            }
            return (entry.input.lastPathComponent, entry.phase.label, detail)
        }
        let first = max(4, rows.map { $0.0.count }.max() ?? 4)
        let second = max(6, rows.map { $0.1.count }.max() ?? 6)
        var text = "FILE".padding(toLength: first, withPad: " ", startingAt: 0) + "  " + "STATUS".padding(toLength: second, withPad: " ", startingAt: 0) + "  DETAIL\n"
        for row in rows {
            text += row.0.padding(toLength: first, withPad: " ", startingAt: 0) + "  " + row.1.padding(toLength: second, withPad: " ", startingAt: 0) + "  " + row.2 + "\n"
        }
        let failed = entries.filter { if case .failed = $0.phase { true } else { $0.phase == .cancelled } }.count
        let done = entries.filter { $0.phase == .completed }.count
        let skipped = entries.filter { $0.phase == .skipped }.count
        text += "\(done) completed, \(skipped) skipped, \(failed) failed\n"
        return text
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
