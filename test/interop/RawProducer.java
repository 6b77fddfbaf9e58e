// An independent producer for the regression tests: Kafka's own Java client, from the jars the stack
// already runs, so a test's records reach the product exactly as a Java (or any other real) producer
// would write them, compressed batches included, and not through the product's kafkajs code path.
//
// Run without a build step (Java 17 single-file source launch):
//   java -cp '<kafka libs dir>/*' test/interop/RawProducer.java <bootstrap> <compression.type> [key=value ...]
// The key=value arguments are further producer properties; they override the defaults below.
//
// stdin: one record a line, tab-separated fields:
//   topic, partition (empty: the default partitioner), key (base64, `-` for null),
//   value (base64, `-` for null), headers (`name=base64` items separated by commas, `name=-` for a
//   null value; empty for none).
// With a `transactional.id` property the records go out in transactions: a line `@commit` or `@abort`
// ends the current one (its records are written to the log first, so an aborted one's records are there
// for a consumer to skip), and the records after the last such line are committed at the end.
// stdout: `sent N` once every record is acknowledged; exit 1 with the reason on stderr otherwise.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class RawProducer {
  private static final String NULL_FIELD = "-";
  private static final String COMMIT_LINE = "@commit";
  private static final String ABORT_LINE = "@abort";

  public static void main(String[] args) throws Exception {
    // Log4j's default configuration writes the client's errors to System.out, which carries only the
    // summary line here: everything else goes to stderr.
    PrintStream summary = System.out;
    System.setOut(System.err);
    try {
      int sent = run(args);
      summary.println("sent " + sent);
      summary.flush();
    } catch (Exception error) {
      System.err.println("RawProducer: " + describe(error));
      System.exit(1);
    }
  }

  private static int run(String[] args) throws Exception {
    if (args.length < 2) {
      throw new IllegalArgumentException("usage: RawProducer <bootstrap> <compression.type> [producer property=value ...]");
    }
    Properties properties = properties(args);
    boolean transactional = properties.containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
    List<Object> lines = readLines(transactional);
    List<Future<RecordMetadata>> acknowledgements = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(properties)) {
      if (transactional) {
        producer.initTransactions();
        producer.beginTransaction();
      }
      for (Object line : lines) {
        if (line instanceof ProducerRecord<?, ?>) {
          @SuppressWarnings("unchecked")
          ProducerRecord<byte[], byte[]> record = (ProducerRecord<byte[], byte[]>) line;
          acknowledgements.add(producer.send(record));
          continue;
        }
        awaitAll(producer, acknowledgements);
        if (COMMIT_LINE.equals(line)) producer.commitTransaction();
        else producer.abortTransaction();
        producer.beginTransaction();
      }
      awaitAll(producer, acknowledgements);
      if (transactional) producer.commitTransaction();
    }
    return acknowledgements.size();
  }

  /** Sends what is buffered and waits for every record so far to be in the log. */
  private static void awaitAll(KafkaProducer<byte[], byte[]> producer, List<Future<RecordMetadata>> acknowledgements) throws Exception {
    producer.flush();
    // get() rethrows the first failed send (as an ExecutionException naming the cause).
    for (Future<RecordMetadata> acknowledgement : acknowledgements) acknowledgement.get();
  }

  private static Properties properties(String[] args) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    properties.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, args[1]);
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    // Every record is handed over before flush(), which sends at once whatever the linger: a long
    // linger and large batches make sure records go out many to a (compressed) batch, never one by one.
    properties.put(ProducerConfig.LINGER_MS_CONFIG, "60000");
    properties.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(512 * 1024));
    properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    for (int i = 2; i < args.length; i++) {
      int equals = args[i].indexOf('=');
      if (equals <= 0) throw new IllegalArgumentException("producer property is not key=value: " + args[i]);
      properties.put(args[i].substring(0, equals), args[i].substring(equals + 1));
    }
    return properties;
  }

  /** The records, and the transactions' ends (`@commit`, `@abort`) where they come. */
  private static List<Object> readLines(boolean transactional) throws Exception {
    List<Object> lines = new ArrayList<>();
    BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    int lineNumber = 0;
    for (String line = input.readLine(); line != null; line = input.readLine()) {
      lineNumber++;
      if (line.isEmpty()) continue;
      try {
        if (COMMIT_LINE.equals(line) || ABORT_LINE.equals(line)) {
          if (!transactional) throw new IllegalArgumentException(line + " without a transactional.id");
          lines.add(line);
        } else lines.add(parseRecord(line));
      } catch (RuntimeException error) {
        throw new IllegalArgumentException("stdin line " + lineNumber + ": " + error.getMessage(), error);
      }
    }
    return lines;
  }

  private static ProducerRecord<byte[], byte[]> parseRecord(String line) {
    String[] fields = line.split("\t", -1);
    if (fields.length != 5) {
      throw new IllegalArgumentException("expected 5 tab-separated fields (topic, partition, key, value, headers), got " + fields.length);
    }
    Integer partition = fields[1].isEmpty() ? null : Integer.valueOf(fields[1]);
    ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(fields[0], partition, bytesOrNull(fields[2]), bytesOrNull(fields[3]));
    if (!fields[4].isEmpty()) {
      for (String header : fields[4].split(",", -1)) {
        int equals = header.indexOf('=');
        if (equals <= 0) throw new IllegalArgumentException("header is not name=base64: " + header);
        record.headers().add(new RecordHeader(header.substring(0, equals), bytesOrNull(header.substring(equals + 1))));
      }
    }
    return record;
  }

  private static byte[] bytesOrNull(String field) {
    return NULL_FIELD.equals(field) ? null : Base64.getDecoder().decode(field);
  }

  private static String describe(Throwable error) {
    StringBuilder message = new StringBuilder(error.getClass().getSimpleName() + ": " + error.getMessage());
    for (Throwable cause = error.getCause(); cause != null; cause = cause.getCause()) {
      // Wrappers (ExecutionException, KafkaException) often repeat their cause's message word for word.
      if (!message.toString().contains(String.valueOf(cause.getMessage()))) {
        message.append(" <- ").append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage());
      }
    }
    return message.toString();
  }
}
