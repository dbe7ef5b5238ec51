/// Which runs a history query looks at: those of one host and one
/// environment (either or both may be left open), the newest `limit` of them.
public struct RunFilter: Sendable, Hashable {
    /// The host (the run's hostname); nil for any.
    public var host: String?
    /// The environment's name; nil for any.
    public var environment: String?
    /// How many rows at most, newest first; nil for all.
    public var limit: Int?

    /// A filter.
    ///
    /// - Parameters:
    ///   - host: the host; nil for any.
    ///   - environment: the environment's name; nil for any.
    ///   - limit: how many rows at most; nil for all.
    public init(host: String? = nil, environment: String? = nil, limit: Int? = nil) {
        self.host = host
        self.environment = environment
        self.limit = limit
    }
}
