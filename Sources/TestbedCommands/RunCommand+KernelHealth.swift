import ArgumentParser
import Foundation
import KernelHealth

// `run`'s kernel health: the taint file and the kernel log below the host
// root, read by one monitor for the run (docs/kernel-health.md).
extension RunCommand {
    /// `--taint-ignore`, every value's letters together.
    /// - Returns: The flags.
    /// - Throws: `ValidationError` naming a letter the taint table does not have (64).
    func ignoredTaint() throws -> Taint {
        var taint = Taint.none
        for text in taintIgnore {
            do {
                taint.formUnion(try Taint.letters(text))
            } catch {
                throw ValidationError("--taint-ignore: \(error.description)")
            }
        }
        return taint
    }

    /// `path` below `root` (`/` is the host itself).
    static func below(_ root: String, _ path: String) -> String {
        root == "/" ? "/" + path : (root.hasSuffix("/") ? String(root.dropLast()) : root) + "/" + path
    }

    /// The run's kernel health monitor: the taint as the run starts (said
    /// once when the kernel is tainted already: never blamed on a test), the
    /// kernel log opened at its end. A file that cannot be read is said in
    /// one line and that part is left out.
    /// - Parameters:
    ///   - root: The directory that stands for `/` (`--host-root`).
    ///   - ignored: Flags that never fail a test.
    /// - Returns: The monitor (nil when neither file can be read) and the lines to show under the run's
    ///   first line, without `testbed: ` (the console shows them there, so that a run's first line is its own).
    static func kernelHealth(root: String, ignored: Taint) -> (monitor: KernelHealthMonitor?, notices: [String]) {
        var notices: [String] = []
        let taintPath = below(root, "proc/sys/kernel/tainted")
        var atStart: Taint?
        do {
            atStart = try KernelHealthMonitor.readTaint(taintPath)
        } catch {
            notices.append("\(reason(error)); the kernel's taint is not checked in this run")
        }
        if let atStart, !atStart.isEmpty {
            notices.append("the kernel was already tainted before this run: \(atStart.decoded); not blamed on any test")
        }
        let kmsgPath = below(root, "dev/kmsg")
        var log: KernelLogReader?
        do {
            log = KernelLogReader(source: try KernelLog.open(kmsgPath))
        } catch {
            notices.append("\(reason(error)); tests' kernel logs are not kept in this run")
        }
        guard atStart != nil || log != nil else { return (nil, notices) }
        return (KernelHealthMonitor(log: log, taintPath: atStart == nil ? nil : taintPath, ignored: ignored, atStart: atStart ?? .none),
                notices)
    }

    /// "cannot read /dev/kmsg: Operation not permitted (not root, or kernel.dmesg_restrict)".
    static func reason(_ error: KernelHealthError) -> String {
        switch error {
        case let .unreadable(path, why):
            let hint = why == "Operation not permitted" || why == "Permission denied" ? " (not root, or kernel.dmesg_restrict=1)" : ""
            return "cannot read \(path): \(why)\(hint)"
        default:
            return error.description
        }
    }
}
