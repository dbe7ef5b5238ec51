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
    /// one line and that part is left out; nil when neither can be read.
    /// - Parameters:
    ///   - root: The directory that stands for `/` (`--host-root`).
    ///   - ignored: Flags that never fail a test.
    /// - Returns: The monitor, or nil.
    static func kernelHealth(root: String, ignored: Taint) -> KernelHealthMonitor? {
        let taintPath = below(root, "proc/sys/kernel/tainted")
        var atStart: Taint?
        do {
            atStart = try KernelHealthMonitor.readTaint(taintPath)
        } catch {
            writeText("testbed: \(reason(error)); the kernel's taint is not checked in this run\n", to: STDERR_FILENO)
        }
        if let atStart, !atStart.isEmpty {
            writeText("testbed: the kernel was already tainted before this run: \(atStart.decoded); not blamed on any test\n",
                      to: STDERR_FILENO)
        }
        let kmsgPath = below(root, "dev/kmsg")
        var log: KernelLogReader?
        do {
            log = KernelLogReader(source: try KernelLog.open(kmsgPath))
        } catch {
            writeText("testbed: \(reason(error)); tests' kernel logs are not kept in this run\n", to: STDERR_FILENO)
        }
        guard atStart != nil || log != nil else { return nil }
        return KernelHealthMonitor(log: log, taintPath: atStart == nil ? nil : taintPath, ignored: ignored, atStart: atStart ?? .none)
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
