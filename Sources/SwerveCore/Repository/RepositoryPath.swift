/// The checks that keep names from requests and from uploaded configurations inside the folder
/// they name: a model name is one folder of the repository, a `file:` path stays inside its upload
/// folder, and a model or label filename is one file of its folder. Nothing outside those folders
/// is ever read, created, changed or removed because of a request.
public enum RepositoryPath {
    /// The longest model name or path component (Linux's NAME_MAX).
    public static let maxComponentBytes = 255

    /// - Throws: `invalidArgument` unless `name` can be one folder of the repository: not empty,
    ///   not `.` or `..`, no `/`, no NUL, no leading `.`, at most 255 bytes.
    public static func checkModelName(_ name: String) throws {
        guard isComponent(name), !name.hasPrefix(".") else {
            throw SwerveError.invalid(
                "model name '\(name.prefix(300))' is not valid: it must be one folder name of the model repository (not empty, no '/', not starting with '.', at most \(maxComponentBytes) bytes)")
        }
    }

    /// - Throws: `invalidArgument` naming `field` unless `name` is one file name (no folders).
    public static func checkFileName(_ name: String, field: String) throws {
        guard isComponent(name) else {
            throw SwerveError.invalid("config field '\(field)': '\(name.prefix(300))' must be a file name inside the model folder, without '/' or '..'")
        }
    }

    /// The components of an uploaded file's relative path (`1/model.onnx`).
    /// - Throws: `invalidArgument` unless every component is a plain name (no absolute path, no
    ///   `.` or `..`, no empty component).
    public static func uploadComponents(_ path: String) throws -> [String] {
        let components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.isEmpty, components.count <= 16, components.allSatisfy(isComponent) else {
            throw SwerveError.invalid("file parameter 'file:\(path.prefix(300))' must be a relative path inside the model folder (no leading '/', no '.' or '..' parts)")
        }
        return components
    }

    private static func isComponent(_ text: String) -> Bool {
        !text.isEmpty && text != "." && text != ".." && text.utf8.count <= maxComponentBytes
            && !text.utf8.contains(UInt8(ascii: "/")) && !text.utf8.contains(0)
    }
}
