// Applies the platform's Kafka access with Kafka's own Java admin API (kafka-clients, in the broker's jars):
// SCRAM users upserted, and the ACLs made exactly the ones given: missing ones created, any other deleted.
// frontdoor_stack.kafka_access runs it as a single-file program (`java -cp '<libs>/*' FrontdoorAccess.java`)
// and writes everything on its standard input, tab-separated, one item a line (nothing on the command line,
// where other users of the machine could read a password):
//   config   <name>   <value>                                    the admin client's settings
//   scram    <user>   <password>                                 a SCRAM-SHA-512 user, created or updated
//   acl      <principal> <resource type> <pattern type> <name> <operation>   an ALLOW binding, any host
// It prints one line: "users=<n> acls: created=<n> deleted=<n> kept=<n>".
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class FrontdoorAccess {
    public static void main(String[] args) throws Exception {
        Properties config = new Properties();
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        Set<AclBinding> wanted = new HashSet<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            switch (f[0]) {
                case "config" -> config.put(f[1], f[2]);
                case "scram" -> users.add(new UserScramCredentialUpsertion(
                        f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), f[2]));
                case "acl" -> wanted.add(new AclBinding(
                        new ResourcePattern(ResourceType.fromString(f[2]), f[4], PatternType.fromString(f[3])),
                        new AccessControlEntry(f[1], "*", AclOperation.fromString(f[5]), AclPermissionType.ALLOW)));
                default -> throw new IllegalArgumentException("unknown line kind: " + f[0]);
            }
        }
        try (Admin admin = Admin.create(config)) {
            if (!users.isEmpty()) {
                admin.alterUserScramCredentials(users).all().get();
            }
            Set<AclBinding> present = new HashSet<>(admin.describeAcls(AclBindingFilter.ANY).values().get());
            List<AclBindingFilter> extra = new ArrayList<>();
            for (AclBinding binding : present) {
                if (!wanted.contains(binding)) {
                    extra.add(binding.toFilter());
                }
            }
            List<AclBinding> missing = new ArrayList<>();
            for (AclBinding binding : wanted) {
                if (!present.contains(binding)) {
                    missing.add(binding);
                }
            }
            if (!extra.isEmpty()) {
                admin.deleteAcls(extra).all().get();
            }
            if (!missing.isEmpty()) {
                admin.createAcls(missing).all().get();
            }
            System.out.printf("users=%d acls: created=%d deleted=%d kept=%d%n", users.size(), missing.size(),
                    extra.size(), wanted.size() - missing.size());
        }
    }
}
