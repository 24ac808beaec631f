import ExportCore

/// Where the render child may open files: the spool's input and output roots.
public enum Confinement {
    /// The roots in force (empty: anywhere the process can reach).
    public static var roots: PathRoots { FileDescriptor.roots }

    /// Confines every input open and temp output create of this process to
    /// `roots`; called once by `main`, before the job is read.
    public static func confine(to roots: PathRoots) { FileDescriptor.roots = roots }
}
