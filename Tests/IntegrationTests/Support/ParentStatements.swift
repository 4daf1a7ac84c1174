/// Counts the statements that insert into `staging.events` itself: its statement triggers fire
/// for those, not for a COPY into one of its day partitions. How a test tells which way the
/// worker loaded a batch (a test trigger, added to the test's own database only).
enum ParentStatements {
    static func startCounting(in database: TestDatabase, writableBy role: String = "pipeline_writer") throws {
        let connection = try database.connect()
        try connection.execute("CREATE TABLE public.statements_into_parent (counted_at timestamptz DEFAULT now())")
        try connection.execute("GRANT INSERT ON public.statements_into_parent TO \(role)")  // our own role name
        try connection.execute(
            """
            CREATE FUNCTION public.count_statement_into_parent() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.statements_into_parent DEFAULT VALUES;
                RETURN NULL;
            END;
            $$
            """)
        try connection.execute(
            """
            CREATE TRIGGER zz_count_statements AFTER INSERT ON staging.events
            FOR EACH STATEMENT EXECUTE FUNCTION public.count_statement_into_parent()
            """)
    }

    /// Statements into the parent that committed.
    static func count(in database: TestDatabase) throws -> Int {
        try database.count("SELECT count(*) FROM public.statements_into_parent")
    }
}
