import HostFacts

/// Which variant of a test a `TestDefinition` is: one combination of the
/// values of its `variants:` axes (`machine=pc, accel=tcg`), with the test's
/// id without them and the variables the variant's process gets.
///
/// A test without `variants:` has none (`TestDefinition.variant` is empty).
public struct TestVariant: Sendable, Hashable, Codable {
    /// One axis and the value this variant takes on it.
    public struct Value: Sendable, Hashable, Codable {
        /// The axis's name (`machine`): lowercase letters, digits, `_` and `-`.
        public let axis: String
        /// The value (`q35`): letters, digits, `.`, `_`, `+` and `-`.
        public let value: String

        /// One axis's value.
        /// - Parameters:
        ///   - axis: The axis's name.
        ///   - value: The value.
        public init(axis: String, value: String) {
            self.axis = axis
            self.value = value
        }
    }

    /// The test's id without the variant (`/migration/precopy`).
    public let baseID: String
    /// The axes' values, in the order the axes were declared.
    public let values: [Value]
    /// The variables the test's process gets: `TESTBED_VARIANT_<AXIS>` for each axis, and each value's `env`.
    public let environment: [String: String]

    /// A variant.
    /// - Parameters:
    ///   - baseID: The test's id without the variant.
    ///   - values: The axes' values, in declaration order.
    ///   - environment: Extra variables for the test (each value's `env`); `TESTBED_VARIANT_<AXIS>` are added for every
    ///     axis, and win over an `env` of the same name.
    public init(baseID: String, values: [Value], environment: [String: String] = [:]) {
        self.baseID = baseID
        self.values = values
        var variables = environment
        for value in values { variables[Self.variableName(axis: value.axis)] = value.value }
        self.environment = variables
    }

    /// The suffix of the variant's id: `[machine=pc,accel=tcg]`.
    public var suffix: String {
        "[" + values.map { $0.axis + "=" + $0.value }.joined(separator: ",") + "]"
    }

    /// The variant's test id: the base id and the suffix (`/migration/precopy[machine=pc,accel=tcg]`).
    public var id: String { baseID + suffix }

    /// The variable that carries an axis's value: `TESTBED_VARIANT_` and the axis as `Environment.variableName` writes it.
    /// - Parameter axis: The axis's name (`cpu-model`).
    /// - Returns: The variable's name (`TESTBED_VARIANT_CPU_MODEL`).
    public static func variableName(axis: String) -> String {
        "TESTBED_VARIANT_" + Environment.variableName(for: axis)
    }

    /// The value of an axis in this variant.
    /// - Parameter axis: An axis's name.
    /// - Returns: Its value; nil when the variant has no such axis.
    public func value(of axis: String) -> String? {
        values.first { $0.axis == axis }?.value
    }

    /// Whether a text is a valid axis name: one or more of `a-z 0-9 _ -`.
    /// - Parameter name: The name as written.
    /// - Returns: True when valid.
    public static func isValidAxis(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
    }

    /// Whether a text is a valid axis value: one or more of `A-Z a-z 0-9 . _ + -` (no `,` `=` `[` `]` `/` or space, which
    /// would make the id ambiguous).
    /// - Parameter value: The value as written.
    /// - Returns: True when valid.
    public static func isValidValue(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F
                || $0 == 0x2B || $0 == 0x2D
        }
    }
}
