/// The kernel's taint: the bits of `/proc/sys/kernel/tainted`, each a reason
/// the kernel no longer vouches for itself (Documentation/admin-guide/tainted-kernels.rst).
///
/// A set of flags: decoded from the file's integer, compared (the flags a
/// test added are `after.subtracting(before)`), shown as letters (`W`) or
/// in words (`W (the kernel issued a warning)`).
public struct Taint: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The bits, as the taint file has them.
    public let rawValue: UInt64

    /// A taint of these bits.
    /// - Parameter rawValue: The bits (bit 9, 512, is `W`).
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// One flag of the table: its bit, its letter and what it means.
    public struct Flag: Sendable, Hashable {
        /// The bit number (0 for `P`).
        public let bit: Int
        /// Its letter as the kernel shows it in an oops (`W`).
        public let letter: Character
        /// What it means, as tainted-kernels.rst says it.
        public let meaning: String
    }

    /// Every flag of tainted-kernels.rst, by bit (0 to 19).
    public static let flags: [Flag] = [
        Flag(bit: 0, letter: "P", meaning: "a proprietary module was loaded"),
        Flag(bit: 1, letter: "F", meaning: "a module was force loaded"),
        Flag(bit: 2, letter: "S", meaning: "the kernel runs on an out of specification system"),
        Flag(bit: 3, letter: "R", meaning: "a module was force unloaded"),
        Flag(bit: 4, letter: "M", meaning: "the processor reported a machine check exception"),
        Flag(bit: 5, letter: "B", meaning: "a bad page was referenced, or unexpected page flags"),
        Flag(bit: 6, letter: "U", meaning: "a user space program asked for the taint"),
        Flag(bit: 7, letter: "D", meaning: "the kernel died recently: an oops or a BUG"),
        Flag(bit: 8, letter: "A", meaning: "an ACPI table was overridden by the user"),
        Flag(bit: 9, letter: "W", meaning: "the kernel issued a warning"),
        Flag(bit: 10, letter: "C", meaning: "a staging driver was loaded"),
        Flag(bit: 11, letter: "I", meaning: "a workaround for a platform firmware bug was applied"),
        Flag(bit: 12, letter: "O", meaning: "an externally built (out-of-tree) module was loaded"),
        Flag(bit: 13, letter: "E", meaning: "an unsigned module was loaded"),
        Flag(bit: 14, letter: "L", meaning: "a soft lockup occurred"),
        Flag(bit: 15, letter: "K", meaning: "the kernel has been live patched"),
        Flag(bit: 16, letter: "X", meaning: "an auxiliary taint, defined by distributions"),
        Flag(bit: 17, letter: "T", meaning: "the kernel was built with the struct randomization plugin"),
        Flag(bit: 18, letter: "N", meaning: "an in-kernel test (such as KUnit) has been run"),
        Flag(bit: 19, letter: "J", meaning: "user space used a mutating debug operation in fwctl"),
    ]

    /// Every letter of the table, in bit order (`PFSRMBUDAWCIOELKXTNJ`).
    public static let allLetters = String(flags.map(\.letter))

    /// No taint.
    public static let none = Taint(rawValue: 0)

    /// The flag of a letter, in either case (no two letters of the table
    /// differ only by case: the kernel writes them all in upper case); nil when the table has none.
    /// - Parameter letter: A letter such as `W` or `w`.
    /// - Returns: Its flag, or nil.
    public static func flag(_ letter: Character) -> Flag? {
        let upper = Character(letter.uppercased())
        return flags.first { $0.letter == upper }
    }

    /// The taint of the taint file's text: a decimal integer, blanks around it.
    /// - Parameter text: What `/proc/sys/kernel/tainted` holds (`512\n`).
    /// - Returns: The taint, or nil when the text is not a non-negative integer.
    public static func parse(_ text: String) -> Taint? {
        let trimmed = text.filter { !$0.isWhitespace }
        guard !trimmed.isEmpty, let value = UInt64(trimmed) else { return nil }
        return Taint(rawValue: value)
    }

    /// The flags of `LETTERS` as `--taint-ignore` takes them: letters in
    /// either case and bit numbers (`21` or `#21`, as a bit the table does not
    /// name is shown), with commas, spaces or nothing between them (`W`, `W,O`,
    /// `w o`, `WO#21`, `O,21`).
    /// - Parameter text: The letters and bit numbers.
    /// - Returns: The taint of those flags.
    /// - Throws: `KernelHealthError.unknownTaintLetter` naming the first letter the table does not have,
    ///   `.badTaintBit` a bit number over 63.
    public static func letters(_ text: String) throws(KernelHealthError) -> Taint {
        var taint = Taint.none
        var characters = text[...]
        while let character = characters.first {
            if character == "," || character.isWhitespace {
                characters.removeFirst()
            } else if character == "#" || character.isASCII && character.isNumber {
                if character == "#" { characters.removeFirst() }
                let digits = characters.prefix { $0.isASCII && $0.isNumber }
                characters.removeFirst(digits.count)
                guard let bit = Int(digits), bit < 64 else { throw .badTaintBit("#" + digits) }
                taint.insert(Taint(rawValue: 1 << UInt64(bit)))
            } else {
                guard let flag = flag(character) else { throw .unknownTaintLetter(String(character)) }
                characters.removeFirst()
                taint.insert(Taint(rawValue: 1 << UInt64(flag.bit)))
            }
        }
        return taint
    }

    /// The flags set, in bit order; bits beyond the table are left out (see `unknownBits`).
    public var setFlags: [Flag] {
        Self.flags.filter { rawValue & (1 << UInt64($0.bit)) != 0 }
    }

    /// Bits set that the table does not name (a newer kernel's).
    public var unknownBits: [Int] {
        (Self.flags.count..<64).filter { rawValue & (1 << UInt64($0)) != 0 }
    }

    /// The letters of the set flags in bit order (`DW`); bits beyond the table as `#20`.
    public var letters: String {
        String(setFlags.map(\.letter)) + unknownBits.map { "#\($0)" }.joined()
    }

    /// Each set flag in words: `W (the kernel issued a warning), #21 (bit 21, unknown to this Testbed)`; `none` when no flag is set.
    public var decoded: String {
        let known = setFlags.map { "\($0.letter) (\($0.meaning))" }
        let unknown = unknownBits.map { "#\($0) (bit \($0), unknown to this Testbed)" }
        let all = known + unknown
        return all.isEmpty ? "none" : all.joined(separator: ", ")
    }

    /// The letters, or `none`.
    public var description: String { isEmpty ? "none" : letters }
}
