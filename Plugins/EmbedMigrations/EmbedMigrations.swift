import Foundation
import PackagePlugin

/// Builds the package's `migrations/` folder into the target that uses this plugin, so a lone
/// `pipeline` binary can migrate with no files beside it, and nothing generated is committed.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "migrations")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrationFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding migrations/ into \(target.name)",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [folder.path, output.path],
                // Listed so that an edited file rebuilds the embedded copy; the folders too, whose
                // modification time is what changes when a file is added or removed (the files'
                // list itself is only read again when the package is).
                inputFiles: try sqlFiles(in: folder) + folders(in: folder),
                outputFiles: [output])
        ]
    }

    /// The folder and its subfolders.
    private func folders(in folder: URL) throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return [folder]
            + names.map { folder.appending(path: $0) }.filter {
                var isFolder: ObjCBool = false
                return FileManager.default.fileExists(atPath: $0.path, isDirectory: &isFolder) && isFolder.boolValue
            }
    }

    /// The `.sql` files at the top of the folder and one level below, as the migrator reads them.
    private func sqlFiles(in folder: URL) throws -> [URL] {
        let manager = FileManager.default
        var files: [URL] = []
        for name in try manager.contentsOfDirectory(atPath: folder.path) {
            let url = folder.appending(path: name)
            if name.hasSuffix(".sql") {
                files.append(url)
            } else if let inner = try? manager.contentsOfDirectory(atPath: url.path) {
                files += inner.filter { $0.hasSuffix(".sql") }.map { url.appending(path: $0) }
            }
        }
        return files
    }
}
