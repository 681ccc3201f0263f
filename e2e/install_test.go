package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installScript runs inside private mount and pid namespaces: the machine's
// root file system under a throwaway overlay, chrooted into, so that
// deploy/install.sh can create its user, directories and files for real
// and all of it vanishes with the namespace. No systemd runs there, so the
// script stops before the service step; what pictor.service does is done
// by hand (the /run/pictor directory, supervisord with pictor.env).
const installScript = `set -euo pipefail
M=$OVL/merged
mkdir -p $OVL/up $OVL/work $M
mount -t overlay overlay -o lowerdir=/,upperdir=$OVL/up,workdir=$OVL/work $M
mount -t proc proc $M/proc
mount --rbind /dev $M/dev
mount -t tmpfs tmpfs $M/run
mount -t tmpfs tmpfs $M/tmp
mkdir -p $M/src
mount --bind $REPO $M/src
mount -o remount,ro,bind $M/src
cp $BIN $M/root/pictor
exec chroot $M /bin/bash -euo pipefail -c '
cd /src
args=(--bin /root/pictor --listen $LISTEN --admin $ADMIN --nofile 4096)
echo "=== first"
bash deploy/install.sh "${args[@]}"
echo "=== second"
bash deploy/install.sh "${args[@]}"
echo "=== running"
install -d -o root -g pictor -m 0770 /run/pictor
set -a; . /etc/pictor/pictor.env; set +a
supervisord -n -s -c /etc/pictor/supervisord.conf &
B=http://$LISTEN
for i in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w "%{http_code}" $B/o/0000000000000000000000000000000000000000000000000000000000000000.jpg)" = 404 ] && break
  sleep 0.1
done
ps -o user=,group=,args= -C nginx,pictor
stat -c "%A %U %G %n" /run/pictor/pictor.sock /etc/pictor/pictor.env /var/lib/pictor
KEY=$(curl -fsS -H "Authorization: Bearer $PICTOR_UPLOAD_TOKENS" -F file=@/src/testdata/sample.jpg $B/upload | sed -n "s/.*\"key\":\"\([^\"]*\)\".*/\1/p")
curl -fsS -o /dev/null -D - $B/o/$KEY | tr -d "\r" | grep -i "^x-served-by"
curl -fsS -o /dev/null -w "transform %{http_code} %{content_type}\n" "$B$(/usr/local/bin/pictor sign "/t/w_300,f_webp/$KEY")"
echo "=== third"
bash deploy/install.sh "${args[@]}" --max-upload-mib 40
grep -c "client_max_body_size 40m;" /etc/pictor/pictor.conf
supervisorctl -c /etc/pictor/supervisord.conf shutdown >/dev/null
wait
echo "=== done"
'
`

// deploy/install.sh, run for real in a throwaway overlay of this machine:
// it creates the user and directories, installs the binary and configs,
// Nginx's workers and the sidecar run as the intended users and reach
// each other, a second run changes nothing, and a changed setting is
// applied. (pictor.service itself needs systemd, which does not run here.)
func TestInstallScript(t *testing.T) {
	needStack(t)
	if os.Getuid() != 0 {
		t.Skip("deploy/install.sh needs root; this test runs it in a throwaway overlay as root (make test as root runs it)")
	}
	for _, tool := range []string{"unshare", "chroot", "logrotate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: scripts/deps.sh installs logrotate (unshare and chroot come with util-linux and coreutils); make test as root runs deps.sh and then this test", tool)
		}
	}
	repo, _ := filepath.Abs("..")
	ovl := t.TempDir()
	cmd := exec.Command("unshare", "--mount", "--pid", "--fork", "--kill-child", "bash", "-c", installScript)
	cmd.Env = append(os.Environ(), "OVL="+ovl, "REPO="+repo, "BIN="+bin,
		"LISTEN="+freeAddr(t), "ADMIN="+freeAddr(t))
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil && !strings.Contains(text, "=== first") {
		// The namespaces or the overlay were refused (a container without
		// CAP_SYS_ADMIN): nothing of install.sh ran.
		t.Skipf("cannot make a throwaway overlay here (mount namespaces and overlayfs as root are missing: %v): this runs in make test as root on a Debian VM or CI machine: %s", err, tail(text, 500))
	}
	if err != nil || !strings.Contains(text, "=== done") {
		t.Fatalf("install in the overlay: %v\n%s", err, text)
	}
	section := func(name string) string {
		_, after, _ := strings.Cut(text, "=== "+name+"\n")
		before, _, _ := strings.Cut(after, "\n=== ")
		return before
	}
	first, second, running, third := section("first"), section("second"), section("running"), section("third")
	for _, want := range []string{"installing /root/pictor as /usr/local/bin/pictor", "generating a signing key", "configs written to /etc/pictor"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run does not say %q:\n%s", want, first)
		}
	}
	if strings.Contains(second, "installing") || strings.Contains(second, "written") || strings.Contains(second, "generating") || strings.Contains(second, "creating") {
		t.Errorf("second run, nothing changed, still changed something:\n%s", second)
	}
	for _, re := range []string{
		`(?m)^pictor +pictor +/usr/local/bin/pictor serve$`,
		`(?m)^root +root +nginx: master process`,
		`(?m)^www-data +pictor +nginx: worker process$`,
		`(?m)^srw-rw---- pictor pictor /run/pictor/pictor.sock$`,
		`(?m)^-rw------- root root /etc/pictor/pictor.env$`,
		`(?m)^drwxr-x--- pictor pictor /var/lib/pictor$`,
		`(?mi)^x-served-by: nginx-originals$`,
		`(?m)^transform 200 image/webp$`,
	} {
		if !regexp.MustCompile(re).MatchString(running) {
			t.Errorf("the installed stack: no line matching %s in\n%s", re, running)
		}
	}
	// Two locations take uploads of that size: /upload and /files/.
	if !strings.Contains(third, "configs written") || !strings.HasSuffix(strings.TrimSpace(third), "\n2") {
		t.Errorf("a changed setting was not applied:\n%s", third)
	}
}
