package org.hippaintriage.hapi;

import ca.uhn.fhir.rest.server.RestfulServer;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

/**
 * Entry point: one HAPI FHIR JPA server (R4, in-memory H2) in the foreground, for the
 * integration tests. The Spring context is built first and the RestfulServer it holds is then
 * mounted on an embedded Jetty at /fhir/*, so the port opens only once HAPI can answer.
 *
 * Environment: HAPI_PORT (default 8090), HAPI_HOST (default 127.0.0.1: tests stay on loopback;
 * a container sets 0.0.0.0).
 */
public final class HapiTestServer {
  private HapiTestServer() {}

  public static void main(String[] args) throws Exception {
    long started = System.nanoTime();
    int port = Integer.parseInt(envOr("HAPI_PORT", "8090"));
    String host = envOr("HAPI_HOST", "127.0.0.1");

    AnnotationConfigApplicationContext spring = new AnnotationConfigApplicationContext(HapiTestServerConfig.class);
    RestfulServer fhir = spring.getBean(RestfulServer.class);

    Server jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost(host);
    connector.setPort(port);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    ServletHolder holder = new ServletHolder(fhir);
    holder.setInitOrder(1);
    context.addServlet(holder, "/fhir/*");
    jetty.setHandler(context);

    // Ctrl-C or SIGTERM from `start`'s caller: stop serving, then close the context (H2 goes with it).
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        jetty.stop();
      } catch (Exception ignored) {
        // Exiting anyway.
      }
      spring.close();
    }, "hapi-shutdown"));

    jetty.start();
    System.out.printf("HAPI FHIR test server ready at http://%s:%d/fhir (started in %.1f s)%n", host, port, (System.nanoTime() - started) / 1e9);
    jetty.join();
  }

  private static String envOr(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
