/// What goes wrong while watching the kernel's health; each message names the
/// file or the value and ends with what to do.
public enum KernelHealthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A taint letter that tainted-kernels.rst does not have.
    case unknownTaintLetter(String)
    /// A file that cannot be read (`/dev/kmsg` without root, `dmesg_restrict`, a missing taint file): the path and why.
    case unreadable(path: String, why: String)
    /// The taint file holds something other than an integer.
    case malformedTaint(path: String, text: String)

    /// The message, lowercase, ending with the fix.
    public var description: String {
        switch self {
        case .unknownTaintLetter(let letter):
            "unknown taint letter '\(letter)'; use letters of \(Taint.allLetters) (W: a kernel warning, D: an oops, L: a soft lockup)"
        case let .unreadable(path, why):
            "cannot read \(path): \(why); run as root (or set kernel.dmesg_restrict=0) to have it watched"
        case let .malformedTaint(path, text):
            "\(path) holds '\(text.prefix(40))', not an integer; point --host-root at a directory whose proc/sys/kernel/tainted holds one"
        }
    }
}
