package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// ctLogFile is a CloudTrail log file as AWS writes it: n management
// records of one account over five minutes, 1.0–1.5 KB each (identities
// with session contexts, user agents, TLS details, request parameters), 70%
// of them read-only, as accounts' trails are; each IAM user has one access
// key, and a file's role sessions fifty. Record i of file f has an eventID
// of its own.
func ctLogFile(r *rand.Rand, f, n int, start time.Time) []byte {
	type call struct {
		source, name, resType string
		readOnly              bool
	}
	calls := []call{
		{"ec2.amazonaws.com", "DescribeInstances", "", true},
		{"ec2.amazonaws.com", "DescribeSecurityGroups", "", true},
		{"ec2.amazonaws.com", "RunInstances", "AWS::EC2::Instance", false},
		{"ec2.amazonaws.com", "StopInstances", "AWS::EC2::Instance", false},
		{"s3.amazonaws.com", "GetBucketAcl", "AWS::S3::Bucket", true},
		{"s3.amazonaws.com", "PutBucketPolicy", "AWS::S3::Bucket", false},
		{"iam.amazonaws.com", "GetRole", "", true},
		{"iam.amazonaws.com", "ListAttachedRolePolicies", "", true},
		{"sts.amazonaws.com", "AssumeRole", "AWS::IAM::Role", true},
		{"kms.amazonaws.com", "Decrypt", "AWS::KMS::Key", true},
		{"lambda.amazonaws.com", "GetFunction20150331v2", "", true},
		{"lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "AWS::Lambda::Function", false},
		{"events.amazonaws.com", "PutRule", "AWS::Events::Rule", false},
		{"cloudformation.amazonaws.com", "DescribeStacks", "", true},
		{"logs.amazonaws.com", "DescribeLogGroups", "", true},
		{"monitoring.amazonaws.com", "GetMetricData", "", true},
	}
	agents := []string{
		"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off",
		"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0",
		"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.69",
		"Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1",
		"console.amazonaws.com",
	}
	users := []string{"alice", "bob", "carol", "deploy-bot", "dave", "erin"}
	var b bytes.Buffer
	b.Grow(n * 1500)
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		c := calls[r.IntN(len(calls))]
		if r.IntN(10) < 7 && !c.readOnly {
			c = calls[0]
		}
		region := "eu-west-1"
		t := start.Add(time.Duration(i) * 5 * time.Minute / time.Duration(n)).Format(time.RFC3339)
		user := users[r.IntN(len(users))]
		agent := agents[r.IntN(len(agents))]
		ip := fmt.Sprintf("203.0.113.%d", r.IntN(40))
		if r.IntN(4) == 0 {
			ip = strings.TrimSuffix(c.source, ".amazonaws.com") + ".amazonaws.com"
		}
		var identity string
		if r.IntN(3) == 0 {
			identity = fmt.Sprintf(`{"type":"IAMUser","principalId":"AIDA6ON6E4XEG%sEXAMPLE","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","accessKeyId":"AKIA%016X","userName":%q}`,
				strings.ToUpper(user), user, len(user), user)
		} else {
			role := []string{"ci-deploy", "Admin", "ReadOnly", "lambda-exec"}[r.IntN(4)]
			identity = fmt.Sprintf(`{"type":"AssumedRole","principalId":"AROA3EXAMPLE%sID:%s","arn":"arn:aws:sts::111122223333:assumed-role/%s/%s","accountId":"111122223333","accessKeyId":"ASIA%016X","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA3EXAMPLE%sID","arn":"arn:aws:iam::111122223333:role/%s","accountId":"111122223333","userName":%q},"webIdFederationData":{},"attributes":{"creationDate":%q,"mfaAuthenticated":"false"}}}`,
				strings.ToUpper(role), user, role, user, f<<8|r.IntN(50), strings.ToUpper(role), role, role, start.Add(-time.Duration(r.IntN(3600))*time.Second).Format(time.RFC3339))
		}
		name := fmt.Sprintf("%s-%d", []string{"orders", "invoices", "web", "batch", "etl"}[r.IntN(5)], r.IntN(300))
		var params, resources string
		switch {
		case strings.HasPrefix(c.name, "Describe"), strings.HasPrefix(c.name, "List"), strings.HasPrefix(c.name, "Get"):
			params = fmt.Sprintf(`{"filterSet":{"items":[{"name":"tag:env","valueSet":{"items":[{"value":"prod"}]}},{"name":"tag:app","valueSet":{"items":[{"value":%q}]}}]},"maxResults":%d}`, name, 50+r.IntN(50))
		default:
			params = fmt.Sprintf(`{"name":%q,"description":"managed by terraform","tags":[{"key":"env","value":"prod"},{"key":"team","value":"platform"}],"clientToken":"%016x"}`, name, r.Uint64())
		}
		if c.resType != "" {
			resources = fmt.Sprintf(`,"resources":[{"accountId":"111122223333","type":%q,"ARN":"arn:aws:%s:%s:111122223333:%s/%s"}]`,
				c.resType, strings.TrimSuffix(c.source, ".amazonaws.com"), region, strings.ToLower(strings.TrimPrefix(c.resType, "AWS::")), name)
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":%q,`+
			`"sourceIPAddress":%q,"userAgent":%q,"requestParameters":%s,"responseElements":null,`+
			`"requestID":"%08x-%04x-4%03x-8%03x-%012x","eventID":"%08x-%04x-4%03x-a%03x-%012x","readOnly":%t%s,"eventType":"AwsApiCall",`+
			`"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management",`+
			`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.%s.amazonaws.com"}}`,
			identity, t, c.source, c.name, region, ip, agent, params,
			r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()>>16,
			f, i, r.IntN(1<<12), r.IntN(1<<12), r.Uint64()>>16, c.readOnly, resources,
			strings.TrimSuffix(c.source, ".amazonaws.com"), region)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// processCPU is the process's CPU time so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dirSize is the bytes of the files under dir whose path contains part
// and does not end in skip.
func dirSize(b *testing.B, dir, part, skip string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, part) || skip != "" && strings.HasSuffix(p, skip) {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkImport imports CloudTrail log files of 10,000 records each (eight
// files an iteration, new ones each time), one file at a time, and reports
// records/s, the bytes a record takes in the audit stream and in the
// event-history index (stream-B/rec, index-B/rec: the files on disk
// divided by the records imported; indexdb-B/rec without the index's
// write-ahead log), and the records' own size (json-B/rec).
func BenchmarkImport(b *testing.B) { benchImport(b, 1) }

// BenchmarkImportTwoAtOnce is BenchmarkImport with two files imported at
// once, as `conveyor cloudtrail import` posts them by default: while one
// import waits for the index to take its last records, the other's are
// read and stored.
func BenchmarkImportTwoAtOnce(b *testing.B) { benchImport(b, 2) }

// benchImport imports eight files an iteration, inflight at once; the
// files are made with the clock stopped, before each iteration's imports.
func benchImport(b *testing.B, inflight int) {
	const perFile = 10_000
	in := servertest.Start(b)
	r := rand.New(rand.NewPCG(16, 16))
	start := time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	files := make(chan []byte)
	var wg, pending sync.WaitGroup
	for range inflight {
		wg.Go(func() {
			for body := range files {
				req := httptest.NewRequest(http.MethodPost, server.ImportPath, bytes.NewReader(body))
				req.RemoteAddr = "127.0.0.1:5000"
				w := httptest.NewRecorder()
				in.Server.Handler().ServeHTTP(w, req)
				var res server.ImportResult
				if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK {
					b.Errorf("answer %d %s", w.Code, w.Body)
				} else if res.Imported != perFile || res.SkippedCount != 0 {
					b.Errorf("imported %d of %d, %d skipped: %+v", res.Imported, perFile, res.SkippedCount, res.Skipped)
				}
				pending.Done()
			}
		})
	}
	var jsonBytes, records int64
	var cpu time.Duration
	f := 0
	made := make([][]byte, 8)
	for b.Loop() {
		b.StopTimer()
		for j := range made {
			made[j] = ctLogFile(r, f, perFile, start.Add(time.Duration(f)*5*time.Minute))
			f++
		}
		b.StartTimer()
		cpu0 := processCPU()
		for _, body := range made {
			pending.Add(1)
			files <- body
			records += perFile
			jsonBytes += int64(len(body))
		}
		pending.Wait()
		cpu += processCPU() - cpu0
	}
	close(files)
	wg.Wait()
	if b.Failed() {
		return
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(jsonBytes)/float64(records), "json-B/rec")
	// The process's CPU time an imported record costs (the importer,
	// JetStream, the index): steadier than records/s on a shared machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(records), "cpu-µs/rec")
	b.ReportMetric(float64(dirSize(b, in.Config.DataDir, string(filepath.Separator)+"AUDIT"+string(filepath.Separator), ""))/float64(records), "stream-B/rec")
	b.ReportMetric(float64(dirSize(b, in.Config.DataDir, "cloudtrail-index.db", ""))/float64(records), "index-B/rec")
	// The index's write-ahead log is bounded (wal_autocheckpoint) and
	// emptied into the database now and then: the database alone is what
	// a record costs in the long run.
	b.ReportMetric(float64(dirSize(b, in.Config.DataDir, "cloudtrail-index.db", "-wal"))/float64(records), "indexdb-B/rec")
}
