/// What goes wrong while watching the kernel's health; each message names the
/// file or the value and ends with what to do.
public enum KernelHealthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A taint letter that tainted-kernels.rst does not have.
    case unknownTaintLetter(String)
    /// A taint bit number past 63 (`#64`), or `#` without a number.
    case badTaintBit(String)
    /// A file that cannot be read (`/dev/kmsg` without root, `dmesg_restrict`, a missing taint file): the path and why.
    case unreadable(path: String, why: String)
    /// The taint file holds something other than an integer.
    case malformedTaint(path: String, text: String)

    /// The message, lowercase, ending with the fix.
    public var description: String {
        switch self {
        case .unknownTaintLetter(let letter):
            "unknown taint letter '\(letter)'; use letters of \(Taint.allLetters) in either case (W: a kernel warning, D: an oops, "
                + "L: a soft lockup), or bit numbers such as 21 or #21"
        case .badTaintBit(let bit):
            "taint bit '\(bit)' is not a bit of the taint; use bit numbers 0 to 63 (21 or #21), or letters of \(Taint.allLetters)"
        case let .unreadable(path, why):
            "cannot read \(path): \(why); run as root (or set kernel.dmesg_restrict=0) to have it watched"
        case let .malformedTaint(path, text):
            // Escaped, quoted: the message stays one line whatever the file holds.
            "\(path) holds \(String(text.prefix(40)).debugDescription), not an integer; "
                + "point --host-root at a directory whose proc/sys/kernel/tainted holds one"
        }
    }
}
