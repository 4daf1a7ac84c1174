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
                // Listed so that an edited, added or removed file rebuilds the embedded copy.
                inputFiles: try sqlFiles(in: folder),
                outputFiles: [output])
        ]
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
