// Container health check for the HAPI FHIR image in docker-compose.yml. That image is distroless
// (a Java runtime, no shell, no curl), so compose compiles this class once (service
// hapi-healthcheck) and HAPI's own JVM runs it:
//   java -cp /healthcheck MetadataCheck http://localhost:8080/fhir/metadata
// Exit 0 when the URL answers 200 within 5 s, 1 otherwise.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class MetadataCheck {
  public static void main(String[] args) {
    try {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpRequest request = HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(5)).GET().build();
      int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      System.exit(status == 200 ? 0 : 1);
    } catch (Exception e) {
      System.exit(1);
    }
  }
}
