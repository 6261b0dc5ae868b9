import CPonderKernels
#if canImport(Glibc)
import Glibc
#endif

/// Which thread is inside a call on an object that takes one call at a time (a session of
/// the C API), so that a second thread's call is refused with an error instead of racing
/// with the first and taking the process down. One atomic word: 0 when free, else the
/// holding thread's id.
public final class UseFlag: @unchecked Sendable {
    public enum Entry {
        /// The caller now holds the flag and must call leave().
        case entered
        /// The holding thread calls again from inside its own call (a progress callback).
        case reentered
        /// Another thread holds the flag.
        case busy
    }

    private let word: UnsafeMutablePointer<Int64>

    public init() {
        word = .allocate(capacity: 1)
        pk_atomic_store(word, 0)
    }

    deinit { word.deallocate() }

    private static var me: Int64 {
        // pthread_t is an address on glibc, never 0; kept nonzero whatever it is.
        let id = Int64(truncatingIfNeeded: pthread_self())
        return id == 0 ? 1 : id
    }

    public func enter() -> Entry {
        let me = UseFlag.me
        if pk_atomic_cas(word, 0, me) != 0 { return .entered }
        return pk_atomic_load(word) == me ? .reentered : .busy
    }

    public func leave() { pk_atomic_store(word, 0) }

    /// Whether a thread other than the caller holds the flag now.
    public var heldByAnotherThread: Bool {
        let holder = pk_atomic_load(word)
        return holder != 0 && holder != UseFlag.me
    }
}
