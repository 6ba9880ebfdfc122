import Foundation

extension EnvironmentValues {
    /// The secret in the file that `NAME_FILE` names (Docker and systemd secrets), or nil when
    /// that variable is not set. The file's content is trimmed of surrounding white space.
    ///
    /// - Throws: when the file cannot be read, or others than its owner and group may read it
    ///   (a secret in a world-readable file is no secret): the message says how to fix it.
    public func secretFile(_ name: String) throws(EnvironmentError) -> String? {
        let variable = name + "_FILE"
        guard let path = string(variable) else { return nil }
        // The file itself, not a link to it (Kubernetes mounts secrets as links into `..data/`).
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: target),
            let permissions = attributes[.posixPermissions] as? Int
        else {
            throw EnvironmentError(name: variable, value: path, expected: "a readable file holding \(name)")
        }
        guard permissions & 0o004 == 0 else {
            throw EnvironmentError(
                name: variable, value: path,
                expected: "a file other users cannot read (it is mode \(String(permissions & 0o777, radix: 8)): chmod 600 \(path), or 640 with the service's group)")
        }
        guard let data = FileManager.default.contents(atPath: target) else {
            throw EnvironmentError(name: variable, value: path, expected: "a readable file holding \(name)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
