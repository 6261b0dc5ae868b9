#if canImport(Glibc)
import Glibc
#endif

/// Writing a file whole or not at all. The bytes go to a new file beside the target, which is
/// flushed to disk and only then renamed over it, so a write that fails part way (a full
/// disk, a quota, a file size limit) leaves the file that was there as it was, and the
/// partial one is removed. Every file the library and the CLI write goes through here.
///
/// The target's permissions are kept when it exists (a new file gets 0666 less the umask, as
/// fopen gives); a symbolic link is followed, so the file it points to is replaced and the
/// link stays. A target that exists but is not a regular file (a terminal, a pipe,
/// /dev/stdout) cannot be replaced and is written in place.
public enum AtomicFile {
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        guard !path.isEmpty else { throw PonderError(.io, "cannot write a file with an empty path") }
        var target = path
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists {
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                var link = stat()
                if lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK, let real = realpath(path, nil) {
                    target = String(cString: real)
                    free(real)
                }
            case S_IFDIR:
                throw PonderError(.io, "cannot write '\(path)': it is a directory")
            default:
                return try writeInPlace(bytes, path)
            }
        }

        let (fd, temporary) = try createBeside(target)
        func failed(_ what: String) -> PonderError {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            return PonderError(.io, "cannot write '\(path)': \(what): \(reason) (the file there, if any, is unchanged)")
        }
        if exists { _ = fchmod(fd, st.st_mode & 0o7777) }
        guard writeAll(fd, bytes) else { throw failed("write failed") }
        guard fsync(fd) == 0 else { throw failed("flushing to disk failed") }
        guard close(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw PonderError(.io, "cannot write '\(path)': \(reason) (the file there, if any, is unchanged)")
        }
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw PonderError(.io, "cannot write '\(path)': \(reason) (the file there, if any, is unchanged)")
        }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write($0, to: path) }
    }

    /// A new file in the target's directory, created exclusively under a random name.
    private static func createBeside(_ target: String) throws -> (Int32, String) {
        let directory: String
        if let slash = target.utf8.lastIndex(of: UInt8(ascii: "/")) {
            directory = slash == target.utf8.startIndex ? "/" : String(target[..<slash])
        } else {
            directory = "."
        }
        for _ in 0..<64 {
            let name = "\(directory == "/" ? "" : directory)/.ponder-\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).tmp"
            let fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 { return (fd, name) }
            guard errno == EEXIST else {
                throw PonderError(.io, "cannot write '\(target)': cannot create a file in '\(directory)': \(String(cString: strerror(errno)))")
            }
        }
        throw PonderError(.io, "cannot write '\(target)': no free temporary name in '\(directory)'")
    }

    private static func writeInPlace(_ bytes: UnsafeRawBufferPointer, _ path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PonderError(.io, "cannot open '\(path)' for writing: \(String(cString: strerror(errno)))") }
        let written = writeAll(fd, bytes)
        let reason = String(cString: strerror(errno))
        guard close(fd) == 0, written else { throw PonderError(.io, "cannot write '\(path)': \(reason)") }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}
