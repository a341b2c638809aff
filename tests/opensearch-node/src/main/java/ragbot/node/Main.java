package ragbot.node;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * A single-node OpenSearch for ragbot's tests and local trials.
 *
 * <pre>
 *   cd tests/opensearch-node && mvn -q package
 *   java -Xms512m -Xmx1g -cp 'target/classes:target/lib/*' ragbot.node.Main DATA_DIR [PORT]
 * </pre>
 *
 * It serves HTTP on 127.0.0.1:PORT (default 0: a free port), prints {@code http=127.0.0.1:PORT}
 * once it is up, and stops when its standard input closes (whoever started it is gone) or on
 * SIGTERM. Indices live under DATA_DIR/data.
 *
 * <p>Its home is target/: the k-NN and neural-search plugins are their zips from Maven Central
 * unpacked into target/plugins/, and lang-painless (which k-NN extends) is a module folder in
 * target/modules/ (with analysis-common, which extends it too), so they load as in a distribution, each in its own class loader and under its
 * own name. The modules that nothing extends (transport-netty4, reindex) are
 * jars on the class path, loaded the way OpenSearch's own test nodes load plugins: as classes
 * given to the protected Node constructor. There is no security manager.
 */
public final class Main {
    /** The modules of a stock distribution that ragbot's store needs, besides lang-painless. */
    private static final List<String> CLASSPATH_MODULES = List.of(
        "org.opensearch.transport.Netty4Plugin",
        "org.opensearch.index.reindex.ReindexPlugin"
    );

    /** The protected constructor takes plugin classes, as OpenSearch's MockNode does. */
    static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: Main DATA_DIR [PORT]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]).toAbsolutePath();
        String port = args.length > 1 ? args[1] : "0";
        // target/classes/ -> target/, which holds modules/ and plugins/.
        Path home = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent();
        Files.createDirectories(dir.resolve("config"));

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", dir.resolve("data").toString())
            .put("path.logs", dir.resolve("logs").toString())
            .put("cluster.name", "ragbot-test")
            .put("node.name", "ragbot-test-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            .put("transport.port", "0")
            // A test node on a shared machine: no disk watermarks turning indices read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        LogConfigurator.registerErrorListener();
        LogConfigurator.configureWithoutConfig(settings);

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : CLASSPATH_MODULES) {
            plugins.add(Class.forName(name).asSubclass(Plugin.class));
        }

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), dir.resolve("config"), () -> "ragbot-test-node");
        Node node = new ClasspathNode(environment, plugins);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(node), "ragbot-node-shutdown"));
        node.start();

        TransportAddress address = node.injector().getInstance(HttpServerTransport.class)
            .boundAddress().publishAddress();
        System.out.println("http=" + address.getAddress() + ":" + address.getPort());
        System.out.flush();

        // Stop once whoever started us is gone: its end of our standard input closes.
        InputStream in = System.in;
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
            // input is ignored
        }
        System.exit(0);
    }

    private static void close(Node node) {
        try {
            node.close();
            node.awaitClose(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            System.err.println("closing the node: " + e);
        }
    }

    private Main() {}
}
